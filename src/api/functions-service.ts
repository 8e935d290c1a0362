import type { RlsContext } from '../auth/index.js';
import type { InvocationRecord, InvokeRequest } from '../invoker/index.js';
import type { FunctionDefinition, RetryPolicy, Trigger } from '../registry/index.js';
import type { ReplayEvent, ReplayQuery, ReplaySummary } from '../replay/index.js';

/**
 * What the REST and gRPC servers need from the product, and nothing more. src/main.ts builds
 * it over the real registry, invoker and pipeline; the servers never see those domains, so
 * both transports answer the same way and the API can be tested over any real composition.
 */
export interface FunctionsService {
  /** Deploys a new version; resolves after the registry applied the event. */
  deploy(input: DeployInput): Promise<FunctionDefinition>;
  /** Throws FunctionError NotFound. */
  get(name: string): FunctionDefinition;
  list(): readonly FunctionDefinition[];
  /** Throws FunctionError NotFound / Conflict. */
  undeploy(input: UndeployInput): Promise<{ readonly name: string; readonly version: number }>;
  /** Guest failures come back as records with `outcome.ok === false`. */
  invoke(request: InvokeRequest): Promise<InvocationRecord>;
  /** Recent invocation records of one function, newest first. */
  invocations(name: string, limit: number): Promise<readonly InvocationRecord[]>;
  /**
   * Runs recorded invocations again from their journals and compares them (docs/replay.md);
   * reports each finding through `onEvent` as it goes. Stops between records when `signal` aborts.
   */
  replay(query: ReplayQuery, onEvent?: (event: ReplayEvent) => void, signal?: AbortSignal): Promise<ReplaySummary>;
  topology(): Promise<TopologySnapshot>;
  registryHistory(query: RegistryHistoryQuery): Promise<readonly RegistryHistoryEntry[]>;
  registryAt(point: RegistryPoint): Promise<RegistrySnapshot>;
  /** Hash of the registry state: equal on every instance that read the same log. */
  stateHash(): string;
  /** True once the registry has read its log to the end (DESIGN §5); /readyz answers it. */
  ready(): boolean;
}

/** Unset fields take the defaults of the config schema (DESIGN §4.1). */
export interface FunctionConfigInput {
  readonly timeoutMs?: number;
  readonly memoryMb?: number;
  readonly stackKb?: number;
  readonly allowedHosts?: readonly string[];
  readonly allowedEnv?: readonly string[];
  readonly verifyJwt?: boolean;
  readonly retry?: Partial<RetryPolicy>;
}

export interface DeployInput {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly config: FunctionConfigInput;
  /** Undefined = the registry's default (`[{type:"http"}]`); `[]` = invocable only through the API. */
  readonly triggers?: readonly Trigger[];
  /** When set, the deploy fails with Conflict unless the current version is this one (0 = new name). */
  readonly expectedVersion?: number;
  /** `sub` of the caller's JWT, for the audit trail. */
  readonly caller: RlsContext;
}

export interface UndeployInput {
  readonly name: string;
  readonly expectedVersion?: number;
  readonly caller: RlsContext;
}

export interface TopologyNodeSnapshot {
  readonly name: string;
  /** source, processor or sink */
  readonly type: string;
  readonly inputs: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
}

export interface TopologySnapshot {
  readonly nodes: readonly TopologyNodeSnapshot[];
  /** The pipeline's own description, passed through for fields the typed nodes do not carry. */
  readonly description: unknown;
  readonly capturedAt: string;
}

export interface RegistryHistoryQuery {
  readonly name?: string;
  /** Newest `limit` events; undefined = all. */
  readonly limit?: number;
}

export interface RegistryHistoryEntry {
  readonly offset: number;
  readonly type: string;
  readonly name: string;
  readonly version: number;
  readonly at: string;
  readonly by: string | null;
  readonly sha256: string | null;
  /** False when the fold rejected the event (stale expected version, …); `reason` says why. */
  readonly accepted: boolean;
  readonly reason?: string;
}

export type RegistryPoint = { readonly offset: number } | { readonly time: string };

export interface RegistrySnapshot {
  readonly functions: readonly FunctionDefinition[];
  readonly stateHash: string;
  /** Offset of the last event folded into the snapshot; -1 when none. */
  readonly throughOffset: number;
}
