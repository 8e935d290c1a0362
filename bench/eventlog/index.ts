/**
 * Event log benchmark: append and replay records/s through the EventLog adapters, each next to a
 * floor measured in the same run — raw file writes + fsync and a raw sequential file read for the
 * embedded log, a plain kafkajs producer and consumer for Kafka — printed as ratios.
 *
 *   bash scripts/run-bench.sh eventlog        (Kafka from AEROFN_TEST_KAFKA_BROKERS, default 127.0.0.1:9092)
 *   BENCH_RECORDS=20000 …                     (smaller run)
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { openEmbeddedEventLog, openKafkaEventLog, type AppendRecord, type EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';

const total = Number(process.env['BENCH_RECORDS'] ?? 100_000);
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const value = Buffer.alloc(200, 'x');
const record = (i: number): AppendRecord => ({ key: `key-${i % 1000}`, value, headers: { n: String(i) } });
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} rec/s`;

/** `concurrency` callers each appending batches of `batch` records, as a pipeline's sinks do. */
async function appendAll(log: EventLog, topic: string, batch: number, concurrency: number): Promise<number> {
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const start = next;
        next += batch;
        await log.append(topic, Array.from({ length: Math.min(batch, total - start) }, (_, i) => record(start + i)));
      }
    }),
  );
  return performance.now() - began;
}

async function replay(log: EventLog, topic: string): Promise<number> {
  const began = performance.now();
  let seen = 0;
  const ends = await log.endOffsets(topic);
  for (let p = 0; p < ends.length; p++) {
    let offset = 0;
    while (offset < ends[p]!) {
      const records = await log.read(topic, p, offset, { maxRecords: 10_000 });
      if (records.length === 0) break;
      seen += records.length;
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  if (seen !== total) throw new Error(`replay saw ${seen} of ${total}`);
  return performance.now() - began;
}

async function embedded(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aerofn-bench-eventlog-'));
  try {
    const log = await openEmbeddedEventLog({ dataDir: dir, logger: silentLogger() });
    await log.ensureTopic({ name: 'one-by-one' });
    await log.ensureTopic({ name: 'batched' });
    const single = await appendAll(log, 'one-by-one', 1, 256);
    const batched = await appendAll(log, 'batched', 500, 4);
    const read = await replay(log, 'batched');
    await log.close();

    // Floors: the same bytes written with as many write+fsync pairs as the log's group commits
    // needed at best (one per 500 records), and the segment read back with one readFile.
    const frameBytes = 36 + 7 + value.length + 9;
    const chunk = Buffer.alloc(frameBytes * 500);
    const fh = await open(join(dir, 'raw.bin'), 'a');
    let began = performance.now();
    for (let i = 0; i < total; i += 500) {
      await fh.write(chunk);
      await fh.datasync();
    }
    const rawWrite = performance.now() - began;
    await fh.close();
    began = performance.now();
    await readFile(join(dir, 'raw.bin'));
    const rawRead = performance.now() - began;

    console.log(`embedded (fsync on), ${total.toLocaleString('en-US')} records of ${value.length} B:`);
    console.log(`  append, 256 concurrent callers x 1 record : ${rate(total, single)}  (${(single / rawWrite).toFixed(2)}x the time of raw write+fsync per 500 records)`);
    console.log(`  append, 4 callers x 500-record batches    : ${rate(total, batched)}  (${(batched / rawWrite).toFixed(2)}x raw write+fsync)`);
    console.log(`  replay (read from offset 0 to the end)    : ${rate(total, read)}  (${(read / rawRead).toFixed(1)}x a raw readFile of the same bytes, which decodes nothing)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function kafka(): Promise<void> {
  let log: EventLog;
  try {
    log = await openKafkaEventLog({ brokers, clientId: 'aerofn-bench', logger: silentLogger() });
  } catch (error) {
    console.log(`kafka: skipped (${(error as Error).message})`);
    return;
  }
  const topic = `bench.eventlog.${randomUUID().slice(0, 8)}`;
  const rawTopic = `${topic}.raw`;
  await log.ensureTopic({ name: topic });
  await log.ensureTopic({ name: rawTopic });
  const appendMs = await appendAll(log, topic, 500, 4);
  const replayMs = await replay(log, topic);
  await log.close();

  const client = new Kafka({ clientId: 'aerofn-bench-raw', brokers, logLevel: logLevel.NOTHING });
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < total) {
        const start = next;
        next += 500;
        const messages = Array.from({ length: Math.min(500, total - start) }, (_, i) => ({ key: `key-${(start + i) % 1000}`, value, headers: { n: String(start + i) }, partition: 0 }));
        await producer.send({ topic: rawTopic, messages, acks: -1 });
      }
    }),
  );
  const rawAppend = performance.now() - began;
  await producer.disconnect();
  const consumer = client.consumer({ groupId: `bench-${randomUUID()}`, maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [rawTopic], fromBeginning: true });
  began = performance.now();
  await new Promise<void>((resolve) => {
    let seen = 0;
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= total) resolve();
      },
    });
  });
  const rawRead = performance.now() - began;
  await consumer.disconnect();
  const admin = client.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, rawTopic] }).catch(() => undefined);
  await admin.disconnect();

  console.log(`kafka (one local broker, acks=all, read_committed), ${total.toLocaleString('en-US')} records:`);
  console.log(`  append, 4 callers x 500-record batches : ${rate(total, appendMs)}  (${(appendMs / rawAppend).toFixed(2)}x the time of plain kafkajs producer.send)`);
  console.log(`  replay via read()                      : ${rate(total, replayMs)}  (${(replayMs / rawRead).toFixed(2)}x a plain kafkajs consumer, group join included in both)`);
}

await embedded();
await kafka();
