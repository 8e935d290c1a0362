import type { InvocationRecord } from '../invoker/index.js';
import { StageStats } from './stage-stats.js';

/** `aerofn.metrics`: one snapshot per function per interval, totals since the instance started. */
export interface FunctionMetricsSnapshot {
  readonly function: string;
  readonly instance: string;
  readonly at: string;
  readonly invocations: number;
  readonly ok: number;
  readonly errors: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly errorsByKind: Readonly<Record<string, number>>;
}

interface Counters {
  invocations: number;
  ok: number;
  errors: number;
  retries: number;
  deadLetters: number;
  readonly errorsByKind: Record<string, number>;
  readonly durations: StageStats;
  changed: boolean;
}

export class FunctionMetrics {
  private readonly byFunction = new Map<string, Counters>();

  constructor(private readonly instance: string) {}

  private counters(name: string): Counters {
    let counters = this.byFunction.get(name);
    if (counters === undefined) {
      counters = { invocations: 0, ok: 0, errors: 0, retries: 0, deadLetters: 0, errorsByKind: {}, durations: new StageStats(name, 1024), changed: true };
      this.byFunction.set(name, counters);
    }
    return counters;
  }

  recordInvocation(record: InvocationRecord): void {
    const counters = this.counters(record.function);
    counters.invocations += 1;
    counters.changed = true;
    if (record.attempt > 1) counters.retries += 1;
    counters.durations.observe(record.durationMs);
    if (record.outcome.ok) counters.ok += 1;
    else {
      counters.errors += 1;
      counters.errorsByKind[record.outcome.error.kind] = (counters.errorsByKind[record.outcome.error.kind] ?? 0) + 1;
    }
  }

  recordDeadLetter(functionName: string): void {
    const counters = this.counters(functionName);
    counters.deadLetters += 1;
    counters.changed = true;
  }

  /** Snapshots of the functions whose counters moved since the last call. */
  drainChanged(now: number): FunctionMetricsSnapshot[] {
    const out: FunctionMetricsSnapshot[] = [];
    for (const [name, counters] of this.byFunction) {
      if (!counters.changed) continue;
      counters.changed = false;
      out.push(this.snapshotOf(name, counters, now));
    }
    return out;
  }

  snapshot(now: number): FunctionMetricsSnapshot[] {
    return [...this.byFunction].map(([name, counters]) => this.snapshotOf(name, counters, now));
  }

  private snapshotOf(name: string, counters: Counters, now: number): FunctionMetricsSnapshot {
    return {
      function: name,
      instance: this.instance,
      at: new Date(now).toISOString(),
      invocations: counters.invocations,
      ok: counters.ok,
      errors: counters.errors,
      retries: counters.retries,
      deadLetters: counters.deadLetters,
      p50Ms: counters.durations.percentile(50),
      p99Ms: counters.durations.percentile(99),
      errorsByKind: { ...counters.errorsByKind },
    };
  }
}
