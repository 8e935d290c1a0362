import { randomUUID } from 'node:crypto';
import type { AeroConfig } from '../config/index.js';
import type { GuestChannels } from '../db/index.js';
import { FunctionError, isFunctionError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionDefinition, FunctionLookup } from '../registry/index.js';
import {
  createModuleCache,
  createSandboxPool,
  type CompiledModule,
  type HostCallRecord,
  type HostFunctions,
  type SandboxPool,
  type SandboxPoolStats,
  type SandboxJob,
  type SandboxResult,
} from '../wasm/index.js';
import type { GuestContext, InvocationRecord, InvokeCallback, InvokeRequest, Invoker } from './invoker-types.js';
import { guestContextOf } from './guest-context.js';

export interface InvokerOptions {
  readonly functions: FunctionLookup;
  readonly hostFunctions?: HostFunctions;
  /**
   * The database's guest channels (Database.guestChannels, PGlite on its own thread): guests'
   * db_query then goes straight to the PGlite thread, in place of hostFunctions.db_query.
   */
  readonly guestChannels?: GuestChannels;
  /** config.sandbox */
  readonly config: AeroConfig['sandbox'];
  readonly logger: Logger;
  /** Called with every record, success or failure (the pipeline appends it to aerofn.invocations). */
  readonly onRecord?: (record: InvocationRecord) => void;
  /** How long an idle sandbox worker spins for its next request before it sleeps (default 0). */
  readonly spinMicros?: number;
  /**
   * How long the main thread waits for a lone quick job before yielding to the event loop
   * (default 100; 0 turns it off). Only when no sandbox worker is busy, so it never spins under
   * load. On an idle machine it takes the sequential p50 from ~85–106 µs (the event loop and the
   * idle CPU being woken for the answer) to ~33–40 µs; see docs/benchmarks-invoke.md.
   */
  readonly mainSpinMicros?: number;
  /** Compiled modules kept in memory (default 256). */
  readonly maxCachedModules?: number;
}

export interface SandboxInvoker extends Invoker {
  invokeWith(request: InvokeRequest, done: InvokeCallback): void;
  /** Resolves when the sandbox workers started up front are online. */
  ready(): Promise<void>;
  stats(): SandboxPoolStats;
}

const logLevels = ['debug', 'info', 'warn', 'error'] as const;

// Under load dozens of invocations start within one millisecond: their records share the text
// of it instead of a Date and a string each.
let lastIsoMs = Number.NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/**
 * lookup → compiled-module cache → sandbox pool → InvocationRecord. Guest failures come back as
 * records with `outcome.ok === false`; only a request that cannot run at all rejects.
 */
export function createInvoker(options: InvokerOptions): SandboxInvoker {
  const { functions, config, logger } = options;
  const pool: SandboxPool = createSandboxPool({
    workers: config.workers,
    defaultStackKb: config.defaults.stackKb,
    maxLogMessages: config.maxLogMessages,
    maxLogMessageBytes: config.maxLogMessageBytes,
    spinMicros: options.spinMicros ?? 0,
    mainSpinMicros: options.mainSpinMicros ?? 100,
    hostFunctions: options.hostFunctions ?? {},
    ...(options.guestChannels === undefined ? {} : { guestChannels: options.guestChannels }),
    logger,
  });
  const modules = createModuleCache({ maxEntries: options.maxCachedModules ?? 256, onEvict: (module) => pool.forget(module) });
  let closed = false;

  function lookup(request: InvokeRequest): FunctionDefinition {
    const definition = functions.getFunction(request.functionName);
    if (definition === undefined) {
      throw new FunctionError('NotFound', `no function named "${request.functionName}" is deployed; deploy it first or check the name.`);
    }
    if (request.version !== undefined && request.version !== definition.version) {
      throw new FunctionError('NotFound', `"${request.functionName}" version ${request.version} is not the deployed one (version ${definition.version}); replay pins must name the deployed version.`);
    }
    if (!definition.enabled) {
      // NotFound, not Unavailable: a disabled function is not there to serve (as over REST), and
      // Unavailable is retriable, which would make the pipeline retry an event that cannot succeed.
      throw new FunctionError('NotFound', `"${request.functionName}" is disabled; enable it to invoke it.`);
    }
    return definition;
  }

  function checkPayload(payload: string): string {
    if (payload === '') return 'null';
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new FunctionError('BadRequest', `the payload is not JSON (${(error as Error).message}); send a JSON body.`);
    }
    return payload;
  }

  function writeGuestLogs(record: InvocationRecord, logsDropped: number): void {
    const journal = record.journal;
    let guestLogger: Logger | undefined;
    for (const entry of journal) {
      if (entry.fn !== 'log') continue;
      guestLogger ??= logger.child({ invocationId: record.id, function: record.function, version: record.version });
      const { level, message } = JSON.parse(entry.request) as { level: number; message: string };
      guestLogger[logLevels[level] ?? 'info']({ guest: true }, message);
    }
    if (logsDropped > 0) {
      (guestLogger ?? logger).warn({ invocationId: record.id, function: record.function, logsDropped }, `dropped ${logsDropped} guest log messages past the per-invocation cap (${config.maxLogMessages})`);
    }
  }

  async function invoke(request: InvokeRequest): Promise<InvocationRecord> {
    if (closed) throw new FunctionError('Unavailable', 'the invoker is closed');
    const definition = lookup(request);
    const input = request.payloadIsJson === true && request.payload !== '' ? request.payload : checkPayload(request.payload);
    const id = request.context?.invocationId ?? request.invocationId ?? randomUUID();
    const startedAtMs = Date.now();
    const context = request.context ?? guestContextOf(definition, request, id, startedAtMs);

    let result: SandboxResult;
    let module: CompiledModule | undefined;
    try {
      // A compiled module is taken without an await (the common case: one fewer promise per call).
      module = modules.peek(definition.sha256, definition.config) ?? (await modules.load(definition.sha256, definition.config, () => functions.getModule(definition.sha256)));
    } catch (error) {
      if (!isFunctionError(error)) throw error;
      result = { ok: false, output: '', error: undefined, durationMs: 0, memoryBytes: 0, journal: [], logsDropped: 0 };
      return finish(request, definition, id, input, context, startedAtMs, result, error);
    }
    result = await pool.run(jobOf(request, definition, module, id, input, context));
    return finish(request, definition, id, input, context, startedAtMs, result, undefined);
  }

  function jobOf(request: InvokeRequest, definition: FunctionDefinition, module: CompiledModule, id: string, input: string, context: GuestContext): SandboxJob {
    return {
      module,
      input,
      context: module.hostImports.includes('context') ? JSON.stringify(context) : undefined,
      timeoutMs: definition.config.timeoutMs,
      stackKb: definition.config.stackKb,
      host: {
        invocationId: id,
        functionName: definition.name,
        version: definition.version,
        config: definition.config,
        rls: request.rls,
        logger,
        triggerDepth: request.triggerDepth ?? 0,
      },
    };
  }

  // The callback path delivers in batches: the pool answers inside its own bookkeeping (several
  // jobs per wake-up), so the records are built and handed on one microtask later, all at once.
  let deliveries: Array<() => void> = [];
  const deliver = (): void => {
    const batch = deliveries;
    deliveries = [];
    for (const delivery of batch) {
      try {
        delivery();
      } catch (error) {
        // As an unhandled rejection of invoke() would: surface it, but deliver the rest first.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };
  const later = (delivery: () => void): void => {
    if (deliveries.push(delivery) === 1) queueMicrotask(deliver);
  };

  /**
   * invoke() for callers that take a callback (the pipeline): the same steps and record, without
   * the Promises and async frames of invoke → pool.run (~1.5 KB of garbage per invocation).
   */
  function invokeWith(request: InvokeRequest, done: InvokeCallback): void {
    let definition: FunctionDefinition;
    let input: string;
    let module: CompiledModule | undefined;
    try {
      if (closed) throw new FunctionError('Unavailable', 'the invoker is closed');
      definition = lookup(request);
      input = request.payloadIsJson === true && request.payload !== '' ? request.payload : checkPayload(request.payload);
      module = modules.peek(definition.sha256, definition.config);
    } catch (error) {
      later(() => done(undefined, error));
      return;
    }
    if (module === undefined) {
      // Not compiled yet (the first call of a function): the Promise path loads it.
      invoke(request).then(
        (record) => done(record, undefined),
        (error: unknown) => done(undefined, error),
      );
      return;
    }
    const id = request.context?.invocationId ?? request.invocationId ?? randomUUID();
    const startedAtMs = Date.now();
    const context = request.context ?? guestContextOf(definition, request, id, startedAtMs);
    pool.submit(jobOf(request, definition, module, id, input, context), (result) => {
      later(() => {
        let record: InvocationRecord;
        try {
          record = finish(request, definition, id, input, context, startedAtMs, result, undefined);
        } catch (error) {
          done(undefined, error);
          return;
        }
        done(record, undefined);
      });
    });
  }

  function finish(
    request: InvokeRequest,
    definition: FunctionDefinition,
    id: string,
    input: string,
    context: GuestContext,
    startedAtMs: number,
    result: SandboxResult,
    loadError: FunctionError | undefined,
  ): InvocationRecord {
    const error = loadError ?? (result.error === undefined ? undefined : new FunctionError(result.error.kind, result.error.message));
    const journal: readonly HostCallRecord[] = result.journal;
    const record: InvocationRecord = {
      id,
      function: definition.name,
      version: definition.version,
      sha256: definition.sha256,
      trigger: request.trigger,
      source: request.source ?? null,
      input,
      context,
      journal,
      outcome: error === undefined ? { ok: true, output: result.output } : { ok: false, error: error.toJSON() },
      attempt: request.attempt ?? 1,
      startedAt: isoTime(startedAtMs),
      durationMs: result.durationMs,
      memoryBytes: result.memoryBytes,
    };
    if (journal.length > 0 || result.logsDropped > 0) writeGuestLogs(record, result.logsDropped);
    try {
      options.onRecord?.(record);
    } catch (sinkError) {
      logger.error({ err: sinkError, invocationId: id }, 'onRecord threw; the invocation result is still returned');
    }
    return record;
  }

  return {
    invoke,
    invokeWith,
    ready: () => pool.ready(),
    stats: () => pool.stats(),
    async close() {
      closed = true;
      await pool.close();
    },
  };
}
