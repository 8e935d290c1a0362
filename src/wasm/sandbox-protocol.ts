import type { MessagePort } from 'node:worker_threads';
import type { InstanceReset } from './instance-reset.js';
// eslint-disable-next-line no-restricted-imports -- a type only; the worker bundle loads the channel file itself (worker-source.ts)
import type { GuestDatabaseChannel } from '../db/pglite/thread-channel.js';

/**
 * The shared-memory channel between the main thread and one sandbox worker.
 *
 * postMessage costs two event-loop turns and a structured clone per direction; on the hot path
 * (a 200-byte echo) that round trip dominates. Instead each worker owns one SharedArrayBuffer with
 * a ring of QUEUE_DEPTH job slots. The main thread writes a request into the next free slot and
 * bumps REQ; the worker, asleep in Atomics.wait on REQ, takes the slots in order, runs each guest,
 * writes the result into the slot, marks it DONE and bumps EVT; the main thread waits with
 * Atomics.waitAsync on EVT and collects every finished slot per wake-up. Under load several jobs
 * ride one wake-up each way. A host call is the same dance in the other direction while the guest
 * is blocked (Atomics.wait on HOST_REPLY), which is what makes async host functions look
 * synchronous to the guest. Anything larger than a slot's data region travels over a MessagePort
 * and is picked up synchronously with receiveMessageOnPort, so the flow stays the same.
 *
 * This file is imported by the worker: it must stay free of heavy imports.
 */

/** Where a module rewritten by the sandbox imports its memory from (guests cannot import it themselves). */
export const SANDBOX_MEMORY_IMPORT = { module: 'aerofn:sandbox', name: 'memory' } as const;

/**
 * Jobs one worker can hold at once (one running, the rest queued behind it). 32 rather than 8:
 * under load the worker drains its ring and sleeps, so each wake-up (25-40 µs of the main thread
 * on this VM) carries up to a ring's worth of jobs; with 8 the pipeline benchmark woke a worker
 * ~8,000 times per 100,000 events, with 32 ~3,000 (docs/benchmarks-pipeline.md). Jobs queue
 * behind a running one only while it is quick (QUEUE_BEHIND_MS) and are given back after
 * SLOW_JOB_MS, as before.
 */
export const QUEUE_DEPTH = 32;

/** Int32 slots shared by the whole channel. */
export const Slot = {
  /** main → worker: how many requests were posted. */
  REQ: 0,
  /** worker → main: bumped for each event (a job done, a host call). */
  EVT: 1,
  /** worker → main: how many requests the worker has taken off the ring (run or skipped). */
  CONSUMED: 2,
  /** worker → main: 1 while the worker waits for a host-call reply. */
  HOST_PENDING: 3,
  /** main → worker: bumped when a host-call reply is ready. */
  HOST_REPLY: 4,
  /** Host call: the job slot it belongs to, the function (index into hostCallNames), its journal seq. */
  HOST_SLOT: 5,
  HOST_FN: 6,
  HOST_SEQ: 7,
  /** Host call / reply: payload bytes in the job slot's data region (-1: port; -2: null). */
  HOST_LEN: 8,
  /** Host reply: a HostReply code. */
  HOST_STATUS: 9,
  /** worker → main: set to 1 once the worker's code is loaded and it waits for requests. */
  READY: 10,
  /** worker → main: the worker's Linux thread id (0 when unknown), for lowering a long job's priority. */
  TID: 11,
  /** main → worker: how many port messages main has posted (the worker drains up to it). */
  PORT_POSTED: 12,
  /** main → worker: 1 while the main thread spins for this worker's events (the worker may spin for its host-call replies). */
  HOST_SPIN: 13,
  /**
   * worker → main: 1 while the worker sleeps (or is about to) in Atomics.wait on REQ. The main
   * thread notifies REQ only then, once per turn: a wake-up per job was the largest main-thread
   * cost of dispatch under load (~15-40 µs each on a loaded 2-vCPU VM).
   */
  SLEEPING: 14,
} as const;
export const GLOBAL_INTS = 16;

/** Int32 fields of each job slot. */
export const Job = {
  /** JobState; QUEUED → RUNNING → DONE by the worker, QUEUED → CANCELLED by the main thread. */
  STATE: 0,
  /** Request: input bytes at the start of the slot's data region (-1: sent over the port). */
  INPUT_LEN: 1,
  /** Request: GuestContext JSON bytes right after the input (-1: none). */
  CONTEXT_LEN: 2,
  MODULE_ID: 3,
  /** Request: the job's index in the stream of requests (pairs it with an 'input' port message). */
  INDEX: 4,
  /** Result: a Status code. */
  STATUS: 5,
  /** Result: output (or error message) bytes (-1: sent over the port). */
  DATA_LEN: 6,
  /** Result: journal JSON bytes after the output (0: no entries). */
  JOURNAL_LEN: 7,
  LOGS_DROPPED: 8,
  /**
   * Request, for a guest's db_query on the PGlite thread (WorkerInit.database): the session text
   * ("role\nclaims JSON") after the input and context (-1: none), the trigger depth and the timeout.
   */
  SESSION_LEN: 9,
  TRIGGER_DEPTH: 10,
  TIMEOUT_MS: 11,
} as const;
export const JOB_INTS = 12;

export const JobState = { FREE: 0, QUEUED: 1, RUNNING: 2, DONE: 3, CANCELLED: 4 } as const;

/** Float64 fields of each job slot. */
export const JobF64 = { DURATION_MS: 0, MEMORY_BYTES: 1, STARTED_AT: 2 } as const;
export const JOB_F64S = 4;

/** Inline data region per job slot; anything larger uses the port. */
export const SLOT_DATA_BYTES = 64 * 1024;

export const JOB_INTS_OFFSET = GLOBAL_INTS * 4;
export const JOB_F64_OFFSET = JOB_INTS_OFFSET + QUEUE_DEPTH * JOB_INTS * 4;
export const DATA_OFFSET = JOB_F64_OFFSET + QUEUE_DEPTH * JOB_F64S * 8;
export const CHANNEL_BYTES = DATA_OFFSET + QUEUE_DEPTH * SLOT_DATA_BYTES;

/** Typed views of one channel, the same on both sides. */
export interface ChannelViews {
  readonly ctrl: Int32Array;
  readonly jobs: Int32Array;
  readonly times: Float64Array;
  readonly data: Uint8Array;
  readonly text: Buffer;
}

export function channelViews(channel: SharedArrayBuffer): ChannelViews {
  return {
    ctrl: new Int32Array(channel, 0, GLOBAL_INTS),
    jobs: new Int32Array(channel, JOB_INTS_OFFSET, QUEUE_DEPTH * JOB_INTS),
    times: new Float64Array(channel, JOB_F64_OFFSET, QUEUE_DEPTH * JOB_F64S),
    data: new Uint8Array(channel, DATA_OFFSET, QUEUE_DEPTH * SLOT_DATA_BYTES),
    text: Buffer.from(channel, DATA_OFFSET, QUEUE_DEPTH * SLOT_DATA_BYTES),
  };
}

/** Result status codes; anything but OK carries an error message in the data region. */
export const Status = {
  OK: 0,
  RuntimePanic: 1,
  OutOfMemory: 2,
  StackOverflow: 3,
  HostFunctionError: 4,
  Timeout: 5,
} as const;
export type StatusName = Exclude<keyof typeof Status, 'OK'>;
export const statusNames: readonly StatusName[] = ['RuntimePanic', 'RuntimePanic', 'OutOfMemory', 'StackOverflow', 'HostFunctionError', 'Timeout'];

/** Host-call reply codes. */
export const HostReply = { ANSWER: 0, THREW: 1 } as const;

export const hostCallNames = ['db_query', 'http_fetch', 'env'] as const;
export type HostCallName = (typeof hostCallNames)[number];

export const LEN_IN_PORT = -1;
export const LEN_NULL = -2;

/** What the worker gets at start (structured-cloned once). */
export interface WorkerInit {
  readonly channel: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly maxLogMessages: number;
  readonly maxLogMessageBytes: number;
  /** How long an idle worker spins before it sleeps in Atomics.wait (0: never spins). */
  readonly spinMicros: number;
  /** How long a worker spins for a host-call reply before it sleeps, while HOST_SPIN is 1 (0: never). */
  readonly hostSpinMicros?: number;
  /** Host functions the main thread provides; the others answer "not available" in the worker. */
  readonly availableHostCalls: readonly HostCallName[];
  /** Set when guests' db_query goes straight to the PGlite thread, not through the main thread. */
  readonly database?: GuestDatabaseChannel;
}

/** Messages main → worker over the port. */
export type ToWorkerMessage =
  | {
      readonly type: 'module';
      readonly id: number;
      readonly module: WebAssembly.Module;
      readonly maxBytes: number;
      readonly importedMemory: { readonly initialPages: number; readonly maxPages: number } | undefined;
      /** Set when a used instance can be reset instead of a new one made (instance-reset.ts). */
      readonly reset: InstanceReset | undefined;
    }
  | { readonly type: 'forget'; readonly id: number }
  | { readonly type: 'input'; readonly index: number; readonly input: Uint8Array }
  | { readonly type: 'reply'; readonly data: Uint8Array | string };

/** Messages worker → main over the port (payloads too big for the data region). */
export type FromWorkerMessage =
  | { readonly type: 'result'; readonly slot: number; readonly output: Uint8Array; readonly journal: string }
  | { readonly type: 'hostcall'; readonly request: Uint8Array };

/** A journal entry as the worker records it (the main thread adds host-function calls). */
export interface WorkerJournalEntry {
  readonly seq: number;
  readonly fn: 'log' | 'context' | HostCallName;
  readonly request: string;
  readonly response: string | null;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly error?: string;
}

/** What a worker writes back for one job (writeWorkerResult). */
export interface WorkerResult {
  /** A Status code. */
  readonly status: number;
  /** The output bytes, or the error message's. */
  readonly body: Uint8Array;
  /** The journal as JSON ('' when empty). */
  readonly journal: string;
  readonly durationMs: number;
  readonly memoryBytes: number;
  readonly logsDropped: number;
}

/**
 * The worker's side of a finished job: its result fields, and its output and journal in the
 * slot's data region, or over the port (`post`) when they do not fit.
 */
export function writeWorkerResult(views: ChannelViews, slot: number, result: WorkerResult, post: (message: FromWorkerMessage) => void): void {
  const { jobs, times, data, text } = views;
  const at = slot * JOB_INTS;
  const base = slot * SLOT_DATA_BYTES;
  times[slot * JOB_F64S + JobF64.DURATION_MS] = result.durationMs;
  times[slot * JOB_F64S + JobF64.MEMORY_BYTES] = result.memoryBytes;
  jobs[at + Job.STATUS] = result.status;
  jobs[at + Job.LOGS_DROPPED] = result.logsDropped;
  const { body, journal } = result;
  const journalBytes = journal === '' ? 0 : Buffer.byteLength(journal);
  if (body.length + journalBytes <= SLOT_DATA_BYTES) {
    data.set(body, base);
    jobs[at + Job.DATA_LEN] = body.length;
    jobs[at + Job.JOURNAL_LEN] = journalBytes;
    if (journalBytes > 0) text.write(journal, base + body.length, 'utf8');
  } else {
    post({ type: 'result', slot, output: body.slice(), journal });
    jobs[at + Job.DATA_LEN] = LEN_IN_PORT;
    jobs[at + Job.JOURNAL_LEN] = 0;
  }
}
