import type { InvocationRecord } from '../invoker/index.js';
import type { AttemptResult } from './operators/retry-backoff.js';
import type { Completion, DeadLetter, InvocationTask, LogRecordLike } from './types.js';

/** What one source record caused so far; its Completion is emitted when `pending` reaches 0. */
export interface Join {
  pending: number;
  readonly record: LogRecordLike;
  readonly invocations: InvocationRecord[];
  readonly deadLetters: DeadLetter[];
}

/** One (event, function) task on its way through fan-out: queued (attempt 0), running, or between retries. */
export interface Work {
  readonly join: Join;
  readonly task: InvocationTask;
  /** The attempt started last (0: still queued in its lane). */
  attempt: number;
  startedAt: number;
  /** Attempts already finished (only kept on the retry path). */
  finished: AttemptResult[] | null;
}

/** Builds the record of attempt `attempt` of a task that was running (or due) when the drain bound passed. */
export type AbandonRecord = (task: InvocationTask, attempt: number, startedAt: number, running: boolean) => InvocationRecord;

/**
 * The tasks fan-out has taken in and not settled. At shutdown, when the drain bound passes,
 * `abandon()` turns them into Completions marked `abandoned`: the records of what finished and
 * one record per attempt that was still running, without committing the source offset.
 */
export class InFlightInvocations {
  private readonly open = new Set<Work>();
  private closed = false;

  get size(): number {
    return this.open.size;
  }

  add(work: Work): void {
    if (!this.closed) this.open.add(work);
  }

  /** False once abandoned: a late result of an abandoned task must not be recorded twice. */
  settle(work: Work): boolean {
    return this.open.delete(work) || !this.closed;
  }

  abandon(record: AbandonRecord): Completion[] {
    this.closed = true;
    const byJoin = new Map<Join, InvocationRecord[]>();
    for (const work of this.open) {
      let records = byJoin.get(work.join);
      if (records === undefined) byJoin.set(work.join, (records = [...work.join.invocations]));
      if (work.attempt === 0) continue; // never started: nothing ran, the redelivery runs it
      for (const result of work.finished ?? []) if (result.record !== null) records.push(result.record);
      const done = work.finished !== null && work.finished[work.finished.length - 1]?.attempt === work.attempt;
      // Between retries (the last attempt finished, the backoff was running): the next one is the one given up.
      records.push(record(work.task, done ? work.attempt + 1 : work.attempt, work.startedAt, !done));
    }
    this.open.clear();
    const completions: Completion[] = [];
    for (const [join, invocations] of byJoin) {
      if (invocations.length > 0) completions.push({ record: join.record, invocations, deadLetters: [], abandoned: true });
    }
    return completions;
  }
}
