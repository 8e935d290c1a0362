import { FunctionError } from '../errors/index.js';
import type { InvocationRecord, Invoker } from '../invoker/index.js';
import type { TopologyDescription } from '../pipeline/index.js';
import type { FunctionDefinition, HistoryEntry, Registry } from '../registry/index.js';
import type { Replayer } from '../replay/index.js';
import type { ReplayMetrics } from './metrics.js';
import type { FunctionsService, RegistryHistoryEntry, TopologySnapshot } from './functions-service.js';

/** The parts of the registry the API uses. */
export type RegistryPort = Pick<Registry, 'deploy' | 'undeploy' | 'getFunction' | 'listFunctions' | 'stateHash' | 'state' | 'at' | 'history' | 'ready'>;

/** The parts of the stream processor the API uses (absent when a deployment runs without one). */
export interface PipelinePort {
  describe(): Promise<TopologyDescription>;
  /** Asynchronous when the pipeline runs in stream threads, which hold their own lists. */
  recentInvocations(functionName: string, limit?: number): InvocationRecord[] | Promise<InvocationRecord[]>;
  noteInvocation(record: InvocationRecord): void;
}

export interface FunctionsFacadeOptions {
  readonly registry: RegistryPort;
  readonly invoker: Pick<Invoker, 'invoke'>;
  readonly pipeline?: PipelinePort;
  /** Invocation records kept per function when there is no pipeline to keep them. */
  readonly recentPerFunction?: number;
  /** Replays recorded runs (its records come from `invocations` of this facade; see main.ts). */
  readonly replayer?: Replayer;
  /** Counts each replay finding (aerofn_replay_findings_total). */
  readonly replayMetrics?: ReplayMetrics;
  /**
   * Awaited after a deploy or undeploy was applied, before the caller gets the answer: main.ts
   * brings change capture in step there, so a row inserted right after a database-triggered
   * function's deploy returns reaches it (capture followed the registry asynchronously before,
   * and a clean clone's drain test lost the first two rows to that window).
   */
  readonly afterRegistryChange?: () => Promise<void>;
}

/** FunctionsService over the real registry, invoker and (when running) the pipeline. */
export function createFunctionsFacade(options: FunctionsFacadeOptions): FunctionsService {
  const { registry, invoker, pipeline } = options;
  const keep = options.recentPerFunction ?? 100;
  const recent = new Map<string, InvocationRecord[]>();

  const remember = (record: InvocationRecord): void => {
    if (pipeline !== undefined) return pipeline.noteInvocation(record);
    const list = recent.get(record.function) ?? [];
    list.unshift(record);
    if (list.length > keep) list.length = keep;
    recent.set(record.function, list);
  };

  const get = (name: string): FunctionDefinition => {
    const definition = registry.getFunction(name);
    if (definition === undefined) throw new FunctionError('NotFound', `no function named "${name}"; \`aerofn ls\` or GET /functions/v1 lists them`);
    return definition;
  };

  return {
    async deploy(input) {
      const definition = await registry.deploy(
        {
          name: input.name,
          wasm: input.wasm,
          config: input.config,
          ...(input.triggers === undefined ? {} : { triggers: input.triggers }),
          ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
        },
        { subject: input.caller.sub },
      );
      await options.afterRegistryChange?.();
      return definition;
    },
    get,
    list: () => registry.listFunctions(),
    async undeploy(input) {
      get(input.name);
      const removed = await registry.undeploy(input.name, input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }, { subject: input.caller.sub });
      await options.afterRegistryChange?.();
      return { name: removed.name, version: removed.version };
    },
    async invoke(request) {
      // The invoker refuses unknown and disabled functions the same way for every path.
      const record = await invoker.invoke(request);
      remember(record);
      return record;
    },
    async invocations(name, limit) {
      if (pipeline !== undefined) return pipeline.recentInvocations(name, limit);
      return (recent.get(name) ?? []).slice(0, limit);
    },
    replay(query, onEvent, signal) {
      if (options.replayer === undefined) return Promise.reject(new FunctionError('Unavailable', 'replay is not set up in this deployment'));
      const metrics = options.replayMetrics;
      return options.replayer.replay(
        query,
        (event) => {
          if (event.type === 'finding') metrics?.observe(query.name, event.finding.verdict);
          onEvent?.(event);
        },
        signal,
      );
    },
    async topology() {
      if (pipeline === undefined) return { nodes: [], description: null, capturedAt: new Date().toISOString() };
      return toTopologySnapshot(await pipeline.describe());
    },
    async registryHistory(query) {
      // The state keeps an entry for every name ever deployed (undeploy clears only `current`).
      const names = query.name !== undefined ? [query.name] : [...registry.state().functions.keys()];
      const entries = (await Promise.all(names.map((name) => registry.history(name)))).flat().sort((a, b) => a.offset - b.offset);
      const limited = query.limit === undefined ? entries : entries.slice(-query.limit);
      return limited.map(toHistoryEntry);
    },
    async registryAt(point) {
      const view = await registry.at(point);
      return { functions: view.listFunctions(), stateHash: view.stateHash(), throughOffset: view.throughOffset };
    },
    stateHash: () => registry.stateHash(),
    ready: () => registry.ready,
  };
}

function toHistoryEntry(entry: HistoryEntry): RegistryHistoryEntry {
  return {
    offset: entry.offset,
    type: entry.type,
    name: entry.event.name,
    version: entry.version,
    at: entry.at,
    by: entry.subject,
    sha256: entry.sha256 ?? null,
    accepted: entry.accepted,
    ...(entry.reason === undefined ? {} : { reason: String(entry.reason) }),
  };
}

/** The pipeline's Kafka-Streams-like description, flattened for the wire. */
export function toTopologySnapshot(description: TopologyDescription): TopologySnapshot {
  const nodes = description.subTopologies.flatMap((sub) =>
    sub.nodes.map((node) => {
      const metrics: Record<string, number> = { in: node.in, out: node.out, errors: node.errors, inFlight: node.inFlight };
      if (node.p50Ms !== null) metrics['p50Ms'] = node.p50Ms;
      if (node.p99Ms !== null) metrics['p99Ms'] = node.p99Ms;
      return { name: node.name, type: node.kind, inputs: [...node.predecessors], metrics };
    }),
  );
  return { nodes, description, capturedAt: new Date().toISOString() };
}
