import { collectDefaultMetrics, register as defaultRegistry, type Registry } from 'prom-client';
import { counterIn, histogramIn } from '../observability/index.js';
import type { InvocationRecord } from '../invoker/index.js';

/**
 * Invocation and host-call counters for /metrics, named by Prometheus conventions. main.ts feeds
 * every record the invoker makes (its onRecord hook), so REST, gRPC, database and schedule
 * invocations all count; their host calls are read from the records' journals.
 */
export interface InvocationMetrics {
  /** A whole record, or the parts of it that are counted (what a stream thread sends over). */
  observe(record: Pick<InvocationRecord, 'function' | 'trigger' | 'outcome' | 'durationMs' | 'memoryBytes' | 'journal'>): void;
}

const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A host call takes ~0.1 ms (a PGlite statement, an env lookup) to seconds (http_fetch, a heavy query). */
const hostCallBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const hostFunctionNames: ReadonlySet<string> = new Set(['db_query', 'http_fetch', 'env']);
const errorAnswer = /^\s*\{\s*"error"/;

/**
 * How a host call ended, from its journal entry: `ok` (an answer), `error` (an `{"error": …}`
 * answer the guest may handle: a failed statement, a host not on the allow-list, an unreachable
 * server) or `threw` (the host function failed; a guest that traps then is a HostFunctionError).
 */
function hostCallOutcome(entry: InvocationRecord['journal'][number]): 'ok' | 'error' | 'threw' {
  if (entry.error !== undefined) return 'threw';
  return entry.response !== null && errorAnswer.test(entry.response) ? 'error' : 'ok';
}

/** Process metrics (CPU, memory, event-loop lag, GC), once per registry. */
export function collectProcessMetrics(registry: Registry = defaultRegistry): void {
  if (registry.getSingleMetric('process_cpu_seconds_total') === undefined) collectDefaultMetrics({ register: registry });
}

export function createInvocationMetrics(registry: Registry = defaultRegistry): InvocationMetrics {
  const total = counterIn(registry, {
    name: 'aerofn_invocations_total',
    help: 'Invocations by function, trigger and outcome (ok or the error kind)',
    labelNames: ['function', 'trigger', 'outcome'] as const,
  });
  const duration = histogramIn(registry, {
    name: 'aerofn_invocation_duration_seconds',
    help: 'Wall-clock time of an invocation, from lookup to result',
    labelNames: ['function', 'trigger'] as const,
    buckets: durationBuckets,
  });
  const memory = histogramIn(registry, {
    name: 'aerofn_invocation_memory_bytes',
    help: 'Linear memory of the guest at the end of an invocation',
    labelNames: ['function'] as const,
    buckets: [65536, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 128 << 20, 256 << 20, 1 << 30],
  });
  const hostCalls = counterIn(registry, {
    name: 'aerofn_host_calls_total',
    help: 'Host-function calls of guests (db_query, http_fetch, env) by function, host function and outcome (ok, error: an {"error"} answer, threw)',
    labelNames: ['function', 'host_function', 'outcome'] as const,
  });
  const hostCallDuration = histogramIn(registry, {
    name: 'aerofn_host_call_duration_seconds',
    help: "Time the host took to answer a guest's host-function call (on the embedded PGlite a db_query statement holds the instance's main thread this long)",
    labelNames: ['function', 'host_function'] as const,
    buckets: hostCallBuckets,
  });
  return {
    observe(record) {
      const outcome = record.outcome.ok ? 'ok' : record.outcome.error.kind;
      total.inc({ function: record.function, trigger: record.trigger, outcome });
      duration.observe({ function: record.function, trigger: record.trigger }, record.durationMs / 1000);
      memory.observe({ function: record.function }, record.memoryBytes);
      // The journal holds the guest's log lines too; most records have no entries at all.
      for (const entry of record.journal) {
        if (!hostFunctionNames.has(entry.fn)) continue;
        hostCalls.inc({ function: record.function, host_function: entry.fn, outcome: hostCallOutcome(entry) });
        hostCallDuration.observe({ function: record.function, host_function: entry.fn }, entry.durationMs / 1000);
      }
    },
  };
}

const droppedSources = new WeakMap<Registry, { read: () => number; seen: number }>();

/**
 * `aerofn_invocation_records_dropped_total`: invocation records (REST, gRPC, schedule) dropped
 * because too many waited for a log that did not take them (the pipeline's NotedRecords cap).
 * Read from `dropped` at each scrape; a second server in the same process takes over the count,
 * which never goes down.
 */
export function registerDroppedRecordsMetric(dropped: () => number, registry: Registry = defaultRegistry): void {
  droppedSources.set(registry, { read: dropped, seen: dropped() });
  // Made once per registry; its collect() reads whichever source registered last.
  counterIn(registry, {
    name: 'aerofn_invocation_records_dropped_total',
    help: 'Invocation records dropped before the invocations topic took them (too many waiting: the log is down or slow)',
    collect() {
      const source = droppedSources.get(registry);
      if (source === undefined) return;
      const now = source.read();
      if (now > source.seen) this.inc(now - source.seen);
      source.seen = now;
    },
  });
}

/** Counts replay findings for /metrics: a diverged run is worth an alert when replays audit on a schedule. */
export interface ReplayMetrics {
  observe(functionName: string, verdict: string): void;
}

export function createReplayMetrics(registry: Registry = defaultRegistry): ReplayMetrics {
  const findings = counterIn(registry, {
    name: 'aerofn_replay_findings_total',
    help: 'Replayed invocations by function and verdict (match, diverged, skipped; docs/replay.md)',
    labelNames: ['function', 'verdict'] as const,
  });
  return { observe: (functionName, verdict) => findings.inc({ function: functionName, verdict }) };
}
