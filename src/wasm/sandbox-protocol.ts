import type { MessagePort } from 'node:worker_threads';

/**
 * The shared-memory channel between the main thread and one sandbox worker.
 *
 * postMessage costs two event-loop turns and a structured clone per direction; on the hot path
 * (a 200-byte echo) that round trip dominates. Instead each worker owns one SharedArrayBuffer:
 * the main thread writes a request into it and bumps REQ; the worker sleeps in Atomics.wait on
 * REQ, runs the guest, writes the result and bumps EVT; the main thread waits with
 * Atomics.waitAsync on EVT. A host call is the same dance in the other direction while the guest
 * is blocked (Atomics.wait on HOST_REPLY), which is what makes async host functions look
 * synchronous to the guest. Anything larger than the data region travels over a MessagePort and
 * is picked up synchronously with receiveMessageOnPort, so the flow stays the same.
 *
 * This file is imported by the worker: it must stay free of heavy imports.
 */

/** Int32 slots at the start of the buffer. */
export const Slot = {
  /** main → worker: bumped for each request. */
  REQ: 0,
  /** worker → main: bumped for each event (EVT_KIND says which). */
  EVT: 1,
  EVT_KIND: 2,
  /** main → worker: bumped when a host-call reply is ready. */
  HOST_REPLY: 3,
  /** Request: input bytes at the start of the data region (-1: sent over the port). */
  INPUT_LEN: 4,
  /** Request: GuestContext JSON bytes right after the input (-1: none). */
  CONTEXT_LEN: 5,
  MODULE_ID: 6,
  /** Request: how many port messages main has posted so far (the worker drains up to it). */
  PORT_MESSAGES: 7,
  /** Result or host reply: a Status / HostReply code. */
  STATUS: 8,
  /** Result: output bytes (-1: sent over the port). Host call/reply: payload bytes (-1: port; -2: null). */
  DATA_LEN: 9,
  /** Result: journal JSON bytes after the output (0: no entries). */
  JOURNAL_LEN: 10,
  /** Host call: index into hostCallNames; and the call's journal sequence number. */
  HOST_FN: 11,
  HOST_SEQ: 12,
  LOGS_DROPPED: 13,
  /** Request: a sequence number identifying the job (for the worker's bookkeeping). */
  JOB: 14,
  /** worker → main: set to 1 once the worker's code is loaded and it waits for requests. */
  READY: 15,
  /** worker → main: the worker's Linux thread id (0 when unknown), for lowering a long job's priority. */
  TID: 16,
} as const;

/** Float64 slots after the Int32 ones. */
export const F64 = { DURATION_MS: 0, MEMORY_BYTES: 1, STARTED_AT: 2, DEADLINE: 3 } as const;

export const INT_SLOTS = 20;
export const F64_OFFSET = INT_SLOTS * 4;
export const F64_SLOTS = 8;
export const DATA_OFFSET = F64_OFFSET + F64_SLOTS * 8;
/** Inline data region per worker; requests, results and host calls larger than this use the port. */
export const DATA_BYTES = 256 * 1024;
export const CHANNEL_BYTES = DATA_OFFSET + DATA_BYTES;

export const EventKind = { DONE: 1, HOST_CALL: 2 } as const;

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
  /** Host functions the main thread provides; the others answer "not available" in the worker. */
  readonly availableHostCalls: readonly HostCallName[];
}

/** Messages main → worker over the port. */
export type ToWorkerMessage =
  | { readonly type: 'module'; readonly id: number; readonly module: WebAssembly.Module; readonly maxBytes: number }
  | { readonly type: 'forget'; readonly id: number }
  | { readonly type: 'input'; readonly input: Uint8Array }
  | { readonly type: 'reply'; readonly data: Uint8Array | string };

/** Messages worker → main over the port (payloads too big for the data region). */
export type FromWorkerMessage =
  | { readonly type: 'result'; readonly output: Uint8Array; readonly journal: string }
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
