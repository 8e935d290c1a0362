import type { HostCallContext, HostCallRecord, HostFunctions } from './host-function.js';
import { redactJournalEntry } from './host/redact.js';
import { setPriority } from 'node:os';
import {
  HostReply,
  Job,
  JOB_F64S,
  JOB_INTS,
  JobF64,
  LEN_IN_PORT,
  LEN_NULL,
  Slot,
  SLOT_DATA_BYTES,
  Status,
  statusNames,
  type ChannelViews,
  type FromWorkerMessage,
  type HostCallName,
  type WorkerJournalEntry,
} from './sandbox-protocol.js';
import type { SandboxResult } from './sandbox-types.js';

/*
 * The main thread's side of the channel protocol that is not about scheduling: serving host calls,
 * reading results out of job slots, and thread priorities.
 */

/** The main thread's half of a host call: the outcome of running the async HostFunction. */
export interface HostCallOutcome {
  readonly answer: Uint8Array | string | null;
  readonly failure: string | undefined;
  readonly startedAt: number;
  readonly durationMs: number;
}

export async function runHostCall(hostFunctions: HostFunctions, name: HostCallName, request: Uint8Array, context: HostCallContext): Promise<HostCallOutcome> {
  const startedAt = Date.now();
  const started = performance.now();
  let answer: Uint8Array | string | null = null;
  let failure: string | undefined;
  try {
    const fn = hostFunctions[name];
    if (fn === undefined) throw new Error(`${name} is not available`);
    answer = await fn(request, context);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  return { answer, failure, startedAt, durationMs: performance.now() - started };
}

/** A host call the main thread served, kept raw until the job's result is read. */
export interface ServedHostCall {
  readonly name: HostCallName;
  readonly seq: number;
  readonly request: Uint8Array;
  readonly outcome: HostCallOutcome;
}

/**
 * The journal entry of a served host call, already redacted (env answers are secrets: the journal
 * keeps "[redacted]", or null for unset, never the value). Made when the job's result is read, not
 * between the reply and the guest's next call: decoding and redacting there sat on that hand-off
 * (≈ 2–3 µs a call after a PGlite statement, whose run leaves the caches cold).
 */
export function journalEntry(served: ServedHostCall): HostCallRecord {
  const { name, seq, request, outcome } = served;
  const { answer, failure } = outcome;
  const entry: HostCallRecord = {
    seq,
    fn: name,
    request: Buffer.from(request.buffer, request.byteOffset, request.length).toString('utf8'),
    response: failure !== undefined || answer === null ? null : typeof answer === 'string' ? answer : Buffer.from(answer).toString('utf8'),
    startedAt: outcome.startedAt,
    durationMs: outcome.durationMs,
    ...(failure === undefined ? {} : { error: failure }),
  };
  return redactJournalEntry(entry);
}

/**
 * Writes the reply into the job slot's data region (or hands it to `post` when it does not fit)
 * and the reply fields the worker reads once HOST_REPLY moves.
 */
export function writeHostReply(views: ChannelViews, base: number, outcome: HostCallOutcome, post: (data: Uint8Array | string) => void): void {
  const { ctrl, data, text } = views;
  const { answer, failure } = outcome;
  if (failure !== undefined) {
    ctrl[Slot.HOST_STATUS] = HostReply.THREW;
    ctrl[Slot.HOST_LEN] = text.write(failure.slice(0, 4096), base, 'utf8');
    return;
  }
  ctrl[Slot.HOST_STATUS] = HostReply.ANSWER;
  if (answer === null) {
    ctrl[Slot.HOST_LEN] = LEN_NULL;
  } else if (typeof answer !== 'string' && answer.length <= SLOT_DATA_BYTES) {
    data.set(answer, base);
    ctrl[Slot.HOST_LEN] = answer.length;
  } else if (typeof answer === 'string' && (answer.length * 3 <= SLOT_DATA_BYTES || Buffer.byteLength(answer) <= SLOT_DATA_BYTES)) {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: short answers fit without measuring them first.
    ctrl[Slot.HOST_LEN] = writeAscii(answer, data, base) ?? text.write(answer, base, 'utf8');
  } else {
    post(answer);
    ctrl[Slot.HOST_LEN] = LEN_IN_PORT;
  }
}

/** Up to this many characters, an ASCII answer is copied by writeAscii, not by Buffer.write. */
const ASCII_COPY_MAX = 512;

/**
 * Copies a short ASCII answer into the slot and returns its length, or undefined when it is long or
 * not ASCII (then Buffer.write, which starts over at `base`). A JSON answer is usually short and
 * ASCII, and after a PGlite statement (its run leaves this thread's caches cold) Buffer.write of
 * ~50 characters took 2–3 µs against ~1 µs for this loop, on the hand-off the guest waits for.
 */
function writeAscii(answer: string, data: Uint8Array, base: number): number | undefined {
  const n = answer.length;
  if (n > ASCII_COPY_MAX) return undefined;
  for (let i = 0; i < n; i++) {
    const c = answer.charCodeAt(i);
    if (c >= 0x80) return undefined;
    data[base + i] = c;
  }
  return n;
}

/** The worker's journal (log, context, unavailable calls) merged with the host calls the main thread served. */
export function mergeJournal(workerText: string, served: readonly ServedHostCall[] | undefined): HostCallRecord[] {
  const fromWorker: WorkerJournalEntry[] = workerText === '' ? [] : (JSON.parse(workerText) as WorkerJournalEntry[]);
  if (served === undefined || served.length === 0) return fromWorker;
  const host = served.map(journalEntry);
  const hostSeqs = new Set(host.map((entry) => entry.seq));
  return [...fromWorker.filter((entry) => !hostSeqs.has(entry.seq)), ...host].sort((a, b) => a.seq - b.seq);
}

/** Reads a finished job slot: output or error message, journal, timings. */
export function readJobResult(
  views: ChannelViews,
  slot: number,
  hostJournal: readonly ServedHostCall[] | undefined,
  receiveResult: () => Extract<FromWorkerMessage, { type: 'result' }> | undefined,
): SandboxResult {
  const { jobs, times, text } = views;
  const at = slot * JOB_INTS;
  const base = slot * SLOT_DATA_BYTES;
  const status = jobs[at + Job.STATUS] as number;
  const length = jobs[at + Job.DATA_LEN] as number;
  let body: string;
  let journalText = '';
  if (length === LEN_IN_PORT) {
    const message = receiveResult();
    body = message === undefined ? '' : Buffer.from(message.output.buffer, message.output.byteOffset, message.output.length).toString('utf8');
    journalText = message?.journal ?? '';
  } else {
    body = text.toString('utf8', base, base + length);
    const journalLength = jobs[at + Job.JOURNAL_LEN] as number;
    if (journalLength > 0) journalText = text.toString('utf8', base + length, base + length + journalLength);
  }
  const ok = status === Status.OK;
  return {
    ok,
    output: ok ? body : '',
    error: ok ? undefined : { kind: statusNames[status] ?? 'RuntimePanic', message: body },
    durationMs: times[slot * JOB_F64S + JobF64.DURATION_MS] as number,
    memoryBytes: times[slot * JOB_F64S + JobF64.MEMORY_BYTES] as number,
    journal: mergeJournal(journalText, hostJournal),
    logsDropped: jobs[at + Job.LOGS_DROPPED] as number,
  };
}

/** Sets a Linux thread's nice value; false when not permitted (no such thread, no CAP_SYS_NICE). */
export function setThreadNice(tid: number, nice: number): boolean {
  if (tid === 0) return false;
  try {
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
