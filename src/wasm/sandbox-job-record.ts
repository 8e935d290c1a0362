import { claimsJson } from '../db/index.js';
import { journalEntry, type ServedHostCall } from './host-call-bridge.js';
import type { HostCallContext } from './host-function.js';
import { Job, JOB_F64S, JOB_INTS, JobF64, JobState, LEN_IN_PORT, QUEUE_DEPTH, SLOT_DATA_BYTES, type ChannelViews } from './sandbox-protocol.js';
import type { SandboxJob, SandboxResult } from './sandbox-types.js';

/** The records a SandboxThread keeps per job: one waiting for a thread, one dispatched to it. */

export interface Pending {
  readonly job: SandboxJob;
  readonly resolve: (result: SandboxResult) => void;
  /** How often a worker died before starting this job (a second time fails it: no crash loop). */
  requeued?: number;
  /** May queue deep in a worker's ring (submit(): bursts from the stream processor); see sandbox-pool.ts. */
  deep?: boolean;
}

export interface Running extends Pending {
  /** Position in this thread's request stream; the ring slot is index % QUEUE_DEPTH. */
  readonly index: number;
  readonly dispatchedAt: number;
  timer: NodeJS.Timeout | undefined;
  controller: AbortController | undefined;
  hostContext: HostCallContext | undefined;
  hostJournal: ServedHostCall[] | undefined;
}

/** A failed result for a job that never produced one (timeout, crash, shutdown). */
export function failed(running: Running, kind: NonNullable<SandboxResult['error']>['kind'], message: string, durationMs: number): SandboxResult {
  return { ok: false, output: '', error: { kind, message }, durationMs, memoryBytes: 0, journal: running.hostJournal?.map(journalEntry) ?? [], logsDropped: 0 };
}

/** When the longest-running guest among a thread's jobs started (epoch ms; 0: none is running). */
export function oldestRunningStart(views: ChannelViews, slots: ReadonlyArray<Running | undefined>): number {
  let oldest = 0;
  for (let i = 0; i < QUEUE_DEPTH; i++) {
    if (slots[i] === undefined || Atomics.load(views.jobs, i * JOB_INTS + Job.STATE) !== JobState.RUNNING) continue;
    const startedAt = views.times[i * JOB_F64S + JobF64.STARTED_AT] as number;
    if (startedAt !== 0 && (oldest === 0 || startedAt < oldest)) oldest = startedAt;
  }
  return oldest;
}

/**
 * The jobs the worker marked DONE, oldest first: results that travel over the port arrive in the
 * order the jobs ran. An insertion sort of at most QUEUE_DEPTH items (Array#sort allocated per call).
 */
export function finishedOldestFirst(views: ChannelViews, slots: ReadonlyArray<Running | undefined>): Running[] {
  const done: Running[] = [];
  for (let slot = 0; slot < QUEUE_DEPTH; slot++) {
    const running = slots[slot];
    if (running !== undefined && Atomics.load(views.jobs, slot * JOB_INTS + Job.STATE) === JobState.DONE) done.push(running);
  }
  for (let i = 1; i < done.length; i++) {
    const item = done[i] as Running;
    let j = i - 1;
    for (; j >= 0 && (done[j] as Running).index > item.index; j--) done[j + 1] = done[j] as Running;
    done[j + 1] = item;
  }
  return done;
}

const encoder = new TextEncoder();

/**
 * Writes job `index` into its ring slot and marks it QUEUED: input and context in the slot's data
 * region (an input too big for it goes through `postInput`; a context that does not fit behind
 * the input is left out, CONTEXT_LEN -1). Written with Buffer's own UTF-8 writer after measuring:
 * encodeInto needed a view of the slot and returned an object per call (~250 bytes per invocation).
 */
export function writeJobSlot(views: ChannelViews, index: number, job: SandboxJob, postInput: (input: Uint8Array) => void, directDatabase = false): void {
  const { jobs, times } = views;
  const slot = index % QUEUE_DEPTH;
  const at = slot * JOB_INTS;
  const base = slot * SLOT_DATA_BYTES;
  const text = views.text as unknown as { utf8Write(value: string, offset: number): number };
  let contextAt = 0;
  if (Buffer.byteLength(job.input, 'utf8') > SLOT_DATA_BYTES) {
    postInput(encoder.encode(job.input));
    jobs[at + Job.INPUT_LEN] = LEN_IN_PORT;
  } else {
    contextAt = text.utf8Write(job.input, base);
    jobs[at + Job.INPUT_LEN] = contextAt;
  }
  jobs[at + Job.CONTEXT_LEN] = -1;
  if (job.context !== undefined && contextAt + Buffer.byteLength(job.context, 'utf8') <= SLOT_DATA_BYTES) {
    jobs[at + Job.CONTEXT_LEN] = text.utf8Write(job.context, base + contextAt);
  }
  jobs[at + Job.SESSION_LEN] = -1;
  if (directDatabase && job.module.hostImports.includes('db_query')) {
    // What the PGlite thread sets the guest's statements up with; written only for a module that
    // can call db_query, so other invocations pay nothing for it.
    const session = `${job.host.rls.role}\n${claimsJson(job.host.rls)}`;
    const sessionAt = contextAt + Math.max(0, jobs[at + Job.CONTEXT_LEN] as number);
    if (sessionAt + Buffer.byteLength(session, 'utf8') <= SLOT_DATA_BYTES) jobs[at + Job.SESSION_LEN] = text.utf8Write(session, base + sessionAt);
  }
  jobs[at + Job.TRIGGER_DEPTH] = job.host.triggerDepth;
  jobs[at + Job.TIMEOUT_MS] = job.timeoutMs;
  jobs[at + Job.MODULE_ID] = job.module.id;
  jobs[at + Job.INDEX] = index;
  times[slot * JOB_F64S + JobF64.STARTED_AT] = 0;
  Atomics.store(jobs, at + Job.STATE, JobState.QUEUED);
}
