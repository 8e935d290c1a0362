/**
 * Scheduler lag: from a due time to the start of its invocation, for every-second jobs, on the
 * embedded log and on Kafka. The peer, measured in the same run and process, is a bare setTimeout
 * aimed at the same second boundaries (the floor: Node's own timer lateness). The scheduler's
 * extra is the tick append + the read-back of the ticks fold before it invokes.
 *
 *   bash scripts/run-bench.sh scheduler            (Kafka from AEROFN_TEST_KAFKA_BROKERS, default 127.0.0.1:9092)
 *   BENCH_SECONDS=10 BENCH_JOBS=5 …                (shorter runs)
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog, openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import type { InvocationRecord, InvokeRequest } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry } from '../../src/registry/index.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { defaults, wasmModule } from '../../test/unit/registry/registry-fixtures.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 20);
const jobCount = Number(process.env['BENCH_JOBS'] ?? 10);
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? process.env['AEROFN_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').filter((b) => b !== '');

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
};
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

/** A bare timer aimed at every second boundary for `ms`: its lateness is the floor. */
function timerPeer(ms: number): Promise<number[]> {
  const lateness: number[] = [];
  const end = Date.now() + ms;
  return new Promise((resolve) => {
    const arm = (): void => {
      const due = Math.ceil((Date.now() + 1) / 1000) * 1000;
      if (due > end) return resolve(lateness);
      setTimeout(() => {
        lateness.push(Date.now() - due);
        arm();
      }, due - Date.now());
    };
    arm();
  });
}

async function measure(log: EventLog, prefix: string): Promise<{ scheduler: number[]; peer: number[] }> {
  const registry = createRegistry({ log, topicPrefix: prefix, defaults, logger: silentLogger() });
  await registry.start();
  const lag: number[] = [];
  let measuring = false;
  const invoker = {
    async invoke(request: InvokeRequest): Promise<InvocationRecord> {
      const at = Date.parse((JSON.parse(request.payload) as { scheduledAt: string }).scheduledAt);
      if (measuring) lag.push(Date.now() - at);
      throw Object.assign(new Error('bench: not run'), { kind: 'NotFound' });
    },
  };
  const scheduler = createScheduler({ log, jobs: registry, invoker, logger: silentLogger(), instanceId: 'bench', topicPrefix: prefix, leasePollMs: 100 });
  await scheduler.start();
  for (let i = 0; i < jobCount; i += 1) await registry.deploy({ name: `job-${i}`, wasm: wasmModule(`j${i}`), triggers: [{ type: 'schedule', cron: '* * * * * *' }] });
  while (!scheduler.isLeader()) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, 3000)); // warm-up: readers joined, caches hot
  measuring = true;
  const peer = await timerPeer(seconds * 1000);
  measuring = false;
  await scheduler.stop(2000);
  await registry.close();
  return { scheduler: lag, peer };
}

function report(name: string, result: { scheduler: number[]; peer: number[] }): void {
  const s50 = percentile(result.scheduler, 50);
  const s99 = percentile(result.scheduler, 99);
  const p50 = percentile(result.peer, 50);
  const p99 = percentile(result.peer, 99);
  console.log(`${name}: scheduler lag p50 ${fmt(s50)} p99 ${fmt(s99)} (${result.scheduler.length} runs of ${jobCount} every-second jobs); bare setTimeout p50 ${fmt(p50)} p99 ${fmt(p99)}; extra over the timer p50 ${fmt(s50 - p50)}, p99 ratio ${(s99 / Math.max(p99, 0.1)).toFixed(1)}x`);
}

console.log(`scheduler bench: ${seconds} s, ${jobCount} jobs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-bench-scheduler-'));
const embedded = await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
try {
  report('embedded (fsync on)', await measure(embedded, ''));
} finally {
  await embedded.close();
  await rm(dataDir, { recursive: true, force: true });
}
let kafka: EventLog | undefined;
try {
  kafka = await openKafkaEventLog({ brokers, clientId: 'bench-scheduler', logger: silentLogger() });
} catch (error) {
  console.log(`kafka: skipped (${(error as Error).message})`);
}
if (kafka !== undefined) {
  try {
    report('kafka', await measure(kafka, `bench-${randomUUID().slice(0, 8)}.`));
  } finally {
    await kafka.close();
  }
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
