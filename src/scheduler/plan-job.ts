import type { CronSchedule } from './cron-schedule.js';

export interface MissedPolicy {
  /** Run every missed due time (bounded by maxCatchUp) instead of only the latest one. */
  readonly catchUp: boolean;
  /** At most this many runs of one job per wake-up; older missed due times are recorded as skipped. */
  readonly maxCatchUp: number;
  /**
   * Without catch-up, the latest due time still runs when it is at most this late (Kubernetes
   * CronJob's startingDeadlineSeconds): a leader failover or a GC pause must not drop a daily job.
   */
  readonly startingDeadlineMs: number;
}

export interface SkippedRange {
  /** How many due times were not run (a lower bound when `countCapped`). */
  readonly count: number;
  readonly countCapped: boolean;
  readonly from: number;
  readonly to: number;
}

export interface JobPlan {
  /** Due times to run now, oldest first. */
  readonly runs: readonly number[];
  readonly skipped: SkippedRange | null;
}

/**
 * Counting missed due times stops here (an every-second job missed for a day would be 86,400).
 * Each due time costs cron-parser ≈ 40 µs in a zone, and a new leader plans every job at once: with
 * hundreds of jobs deployed long ago, 10,000 per job held the event loop for minutes.
 */
export const maxCountedMisses = 100;

/**
 * What one job does at `now`, given the last due time already accounted for (run or skipped) in
 * the ticks topic: which due times in (after, now] run, and which are recorded as skipped. Pure.
 */
export function planJob(schedule: CronSchedule, after: number, now: number, policy: MissedPolicy): JobPlan {
  const keep = policy.catchUp ? Math.max(1, policy.maxCatchUp) : 1;
  const first = schedule.between(after, now, maxCountedMisses);
  let times = first.times;
  if (times.length === 0) return { runs: [], skipped: null };
  let capped = false;
  let skippedCount = 0;
  let skippedFrom = times[0]!;
  let skippedTo = 0;
  if (first.more) {
    // Too many to count: the first maxCountedMisses are skipped for sure; the most recent ones are
    // found by enumerating again from a point close to now, sized by the density seen so far.
    capped = true;
    skippedCount = times.length;
    skippedTo = times[times.length - 1]!;
    const spacing = Math.max(1, (skippedTo - skippedFrom) / Math.max(1, times.length - 1));
    const restart = Math.max(skippedTo, now - spacing * (keep + 2));
    times = schedule.between(restart, now, maxCountedMisses).times;
  }
  const recent = times.slice(-keep);
  const older = times.slice(0, times.length - recent.length);
  const runs = policy.catchUp ? recent : recent.filter((t) => now - t <= policy.startingDeadlineMs);
  const notRun = [...older, ...recent.filter((t) => !runs.includes(t))];
  if (notRun.length > 0) {
    if (skippedCount === 0) skippedFrom = notRun[0]!;
    skippedCount += notRun.length;
    skippedTo = notRun[notRun.length - 1]!;
  }
  const skipped = skippedCount > 0 ? { count: skippedCount, countCapped: capped, from: skippedFrom, to: skippedTo } : null;
  return { runs, skipped };
}
