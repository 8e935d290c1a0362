import type { MessagePort } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import type { GuestDatabaseChannel } from '../db/index.js';
import type { HostFunctions } from './host-function.js';
import { hostCallNames, type WorkerInit } from './sandbox-protocol.js';
import { sandboxWorkerUrl } from './worker-source.js';

export const THREAD_STACK_OVERHEAD_KB = 256;
/**
 * While the main thread serves a lone job's host call (HOST_SPIN set), its worker spins up to this
 * long for the reply instead of sleeping in Atomics.wait: waking a sleeping thread costs 50-100 µs
 * here (an idle vCPU must be woken), which was most of a db_query's bridge cost. A reply that takes
 * longer (http_fetch, a slow statement) costs the core this much, then the worker sleeps.
 */
const WORKER_REPLY_SPIN_MICROS = 1000;

export interface WorkerStartOptions {
  readonly stackKb: number;
  readonly maxLogMessages: number;
  readonly maxLogMessageBytes: number;
  readonly spinMicros?: number;
  readonly hostFunctions: HostFunctions;
  /** This worker's channel to the PGlite thread, for guests' db_query (its port is transferred). */
  readonly database?: GuestDatabaseChannel;
}

/** Starts one sandbox worker thread on a channel; `port` is the worker's end of the message port. */
export function startSandboxWorker(options: WorkerStartOptions, channel: SharedArrayBuffer, port: MessagePort): Worker {
  const init: WorkerInit = {
    channel,
    port,
    maxLogMessages: options.maxLogMessages,
    maxLogMessageBytes: options.maxLogMessageBytes,
    spinMicros: options.spinMicros ?? 0,
    hostSpinMicros: WORKER_REPLY_SPIN_MICROS,
    availableHostCalls: hostCallNames.filter((name) => options.hostFunctions[name] !== undefined || (name === 'db_query' && options.database !== undefined)),
    ...(options.database === undefined ? {} : { database: options.database }),
  };
  return new Worker(sandboxWorkerUrl(), {
    workerData: init,
    // Plain JavaScript needs none of the parent's flags (`--import tsx` alone costs ~200 ms per start).
    execArgv: [],
    transferList: options.database === undefined ? [port] : [port, options.database.port],
    // The wasm stack is the thread's native stack: this is what makes stackKb a hard limit.
    // Node keeps 192 KiB of a worker's stack as a guard below V8's limit (a thread under
    // ~200 KiB crashes the process); the extra 256 KiB covers that and the host's own frames.
    resourceLimits: { stackSizeMb: (options.stackKb + THREAD_STACK_OVERHEAD_KB) / 1024, maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 8 },
    stdout: false,
    stderr: false,
  });
}
