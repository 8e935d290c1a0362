import type { HostCallContext, HostCallRecord } from './host-function.js';
import { Job, JOB_F64S, JOB_INTS, JobF64, JobState, QUEUE_DEPTH, type ChannelViews } from './sandbox-protocol.js';
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
  hostJournal: HostCallRecord[] | undefined;
}

/** A failed result for a job that never produced one (timeout, crash, shutdown). */
export function failed(running: Running, kind: NonNullable<SandboxResult['error']>['kind'], message: string, durationMs: number): SandboxResult {
  return { ok: false, output: '', error: { kind, message }, durationMs, memoryBytes: 0, journal: running.hostJournal ?? [], logsDropped: 0 };
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
