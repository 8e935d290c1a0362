/**
 * Registry benchmark (issue 4): rebuild from 100,000 registry events on the embedded log and on
 * Kafka, each next to a plain read of the same topic measured in the same run (the floor), and
 * the latency from a deploy on one instance to its visibility on another, next to a bare
 * append → read on the same log.
 *
 *   bash scripts/run-bench.sh registry          (Kafka from AEROFN_TEST_KAFKA_BROKERS, default 127.0.0.1:9092)
 *   BENCH_EVENTS=20000 BENCH_ROUNDS=3 …         (smaller runs)
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { openEmbeddedEventLog, openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry, encodeRegistryEvent, type Registry } from '../../src/registry/index.js';
import { defaults, syntheticHistory, wasmModule } from '../../test/unit/registry/registry-fixtures.js';

const eventCount = Number(process.env['BENCH_EVENTS'] ?? 100_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const latencySamples = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 50);
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? process.env['AEROFN_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').filter((b) => b !== '');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
};
const fmt = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;

function registryOn(log: EventLog, prefix: string): Registry {
  return createRegistry({ log, topicPrefix: prefix, defaults, logger: silentLogger() });
}

async function fill(log: EventLog, topic: string): Promise<void> {
  const events = syntheticHistory(eventCount);
  await log.ensureTopic({ name: topic, partitions: 1 });
  for (let i = 0; i < events.length; i += 2000) {
    await log.append(topic, events.slice(i, i + 2000).map((event) => ({ key: event.name, value: encodeRegistryEvent(event), partition: 0 })));
  }
}

/** The floor: the same records read through the same EventLog, without decoding or folding. */
async function plainRead(log: EventLog, topic: string): Promise<number> {
  const began = performance.now();
  let offset = 0;
  let seen = 0;
  for (;;) {
    const records = await log.read(topic, 0, offset, { maxRecords: 10_000 });
    if (records.length === 0) break;
    seen += records.length;
    offset = (records[records.length - 1]?.offset ?? offset) + 1;
  }
  if (seen !== eventCount) throw new Error(`plain read saw ${seen} records, expected ${eventCount}`);
  return performance.now() - began;
}

/** Time to ready (start() = replay to the end offset); the hash is taken after the clock stops. */
async function rebuild(log: EventLog, prefix: string): Promise<{ wall: number; cpu: number; hash: string }> {
  const registry = registryOn(log, prefix);
  const { wall, cpu } = await timed(() => registry.start());
  if (registry.state().eventCount !== eventCount) throw new Error(`rebuild folded ${registry.state().eventCount} events`);
  const hash = registry.stateHash();
  await registry.close();
  return { wall, cpu, hash };
}

/** A plain kafkajs consumer reading the topic from the start to its end (the Kafka floor). */
async function kafkajsRead(topic: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-floor', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-floor-${randomUUID()}`, maxBytes: 8 * 1024 * 1024, maxBytesPerPartition: 8 * 1024 * 1024 });
  const began = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (seen >= eventCount) resolve();
        },
      })
      .catch(reject);
  });
  const ms = performance.now() - began;
  await consumer.disconnect();
  return ms;
}

/** Wall time and this process's CPU time (user + system) of `body`: CPU time tells more when other jobs share the machine. */
async function timed<T>(body: () => Promise<T>): Promise<{ wall: number; cpu: number; value: T }> {
  const cpu = process.cpuUsage();
  const began = performance.now();
  const value = await body();
  const wall = performance.now() - began;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000, value };
}

async function rebuildSection(name: string, log: EventLog, prefix: string, floor: (topic: string) => Promise<number>, target: number): Promise<void> {
  const topic = `${prefix}aerofn.registry`;
  await fill(log, topic);
  const floors: Array<{ wall: number; cpu: number }> = [];
  const rebuilds: Array<{ wall: number; cpu: number }> = [];
  const hashes = new Set<string>();
  for (let round = 0; round < rounds; round += 1) {
    floors.push(await timed(() => floor(topic)));
    const result = await rebuild(log, prefix);
    rebuilds.push(result);
    hashes.add(result.hash);
  }
  if (hashes.size !== 1) throw new Error(`rebuilds disagree: ${[...hashes].join(', ')}`);
  const r = median(rebuilds.map((x) => x.wall));
  const f = median(floors.map((x) => x.wall));
  const rc = median(rebuilds.map((x) => x.cpu));
  const fc = median(floors.map((x) => x.cpu));
  console.log(
    `${name.padEnd(9)} rebuild of ${eventCount} events: ${fmt(r)} wall, ${fmt(rc)} cpu (median of ${rounds}; target ≤ ${fmt(target)}: ${r <= target ? 'met' : 'MISSED'}) | plain read ${fmt(f)} wall, ${fmt(fc)} cpu | ratio ${(r / f).toFixed(2)}x wall, ${(rc / fc).toFixed(2)}x cpu`,
  );
}

/** Deploy on A → visible on B, next to append on A → read on B of the same log. */
async function latencySection(name: string, a: EventLog, b: EventLog, prefix: string): Promise<void> {
  const ra = registryOn(a, prefix);
  const rb = registryOn(b, prefix);
  await Promise.all([ra.start(), rb.start()]);
  let lastFoldedAt = 0;
  const stop = rb.onChange(() => {
    lastFoldedAt = performance.now();
  });
  const visible: number[] = [];
  const command: number[] = [];
  for (let i = 0; i < latencySamples; i += 1) {
    const name = `lat-${i % 5}`;
    const before = rb.position();
    const began = performance.now();
    await ra.deploy({ name, wasm: wasmModule(`lat${i}`) });
    command.push(performance.now() - began);
    while (rb.position() <= before) await new Promise((resolve) => setImmediate(resolve));
    visible.push(lastFoldedAt - began);
  }
  stop();
  await Promise.all([ra.close(), rb.close()]);

  const rawTopic = `${prefix}raw-latency`;
  await a.ensureTopic({ name: rawTopic, partitions: 1 });
  const raw: number[] = [];
  for (let i = 0; i < latencySamples; i += 1) {
    const began = performance.now();
    const [result] = await a.append(rawTopic, [{ key: 'k', value: `v${i}`, partition: 0 }]);
    for (;;) {
      const records = await b.read(rawTopic, 0, result?.offset ?? 0, { maxRecords: 1, maxWaitMs: 250 });
      if (records.length > 0) break;
    }
    raw.push(performance.now() - began);
  }
  const p50 = percentile(visible, 50);
  const rawP50 = percentile(raw, 50);
  console.log(
    `${name.padEnd(9)} deploy → visible on another instance: p50 ${fmt(p50)}, p95 ${fmt(percentile(visible, 95))} (command returns: p50 ${fmt(percentile(command, 50))}) | append → read p50 ${fmt(rawP50)} | ratio ${(p50 / rawP50).toFixed(2)}x`,
  );
}

async function main(): Promise<void> {
  console.log(`registry bench: ${eventCount} events, ${rounds} rounds, ${latencySamples} latency samples, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-bench-registry-'));
  const embedded = await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
  try {
    await rebuildSection('embedded', embedded, 'bench.', (topic) => plainRead(embedded, topic), 1000);
    await latencySection('embedded', embedded, embedded, 'bench-lat.');
  } finally {
    await embedded.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  let a: EventLog | undefined;
  let b: EventLog | undefined;
  try {
    a = await openKafkaEventLog({ brokers, clientId: 'bench-registry-a', logger: silentLogger() });
    b = await openKafkaEventLog({ brokers, clientId: 'bench-registry-b', logger: silentLogger() });
  } catch (error) {
    console.log(`kafka     skipped: ${(error as Error).message}`);
  }
  if (a !== undefined && b !== undefined) {
    const prefix = `bench-${randomUUID().slice(0, 8)}.`;
    const kafka = a;
    await rebuildSection('kafka', kafka, prefix, (topic) => kafkajsRead(topic), 5000);
    await rebuildSection('kafka-log', kafka, `${prefix}2.`, (topic) => plainRead(kafka, topic), 5000);
    await latencySection('kafka', a, b, `${prefix}lat.`);
  }
  await a?.close();
  await b?.close();
}

await main();
