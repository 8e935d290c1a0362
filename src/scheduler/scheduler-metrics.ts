import { register as defaultRegistry, type Registry } from 'prom-client';
import { counterIn, gaugeIn, histogramIn } from '../observability/index.js';

/** What the scheduler reports; main.ts passes the Prometheus one, tests may pass none. */
export interface SchedulerMetrics {
  /** outcome: ok or the error kind of a run, or skipped / overlap / lost (another leader's claim came first). */
  count(functionName: string, outcome: string, n?: number): void;
  /** From the due time to the start of the invocation. */
  lag(seconds: number): void;
  leader(isLeader: boolean): void;
}

export function createSchedulerMetrics(registry: Registry = defaultRegistry): SchedulerMetrics {
  const runs = counterIn(registry, {
    name: 'aerofn_schedule_runs_total',
    help: 'Scheduled due times by function and outcome: ok or the error kind when run, skipped (missed or over the catch-up bound), overlap (previous run still running), lost (another instance claimed it first)',
    labelNames: ['function', 'outcome'] as const,
  });
  const lag = histogramIn(registry, {
    name: 'aerofn_schedule_lag_seconds',
    help: 'From a due time to the start of its invocation',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const leader = gaugeIn(registry, { name: 'aerofn_scheduler_leader', help: '1 while this instance holds the scheduler lease and fires schedules' });
  return {
    count: (fn, outcome, n = 1) => runs.inc({ function: fn, outcome }, n),
    lag: (seconds) => lag.observe(seconds),
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
  };
}
