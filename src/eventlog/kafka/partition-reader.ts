import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { LogRecord } from '../event-log.js';
import { recordBytes, toLogRecord } from './kafka-records.js';
import { singlePartitionAssigner } from './single-partition-assigner.js';

const PAUSE_ABOVE_BYTES = 32 * 1024 * 1024;
const PAUSE_ABOVE_RECORDS = 50_000;
/** Below the end offset a fetch answers at once; waiting this long means only transaction markers remain. */
const BELOW_END_WAIT_MS = 5000;

/**
 * read(topic, partition, from) on Kafka. kafkajs has no plain fetch, so each reader is a consumer
 * in a group of its own that owns one partition (read_committed), positioned with seek(). It keeps
 * fetching ahead into a bounded buffer (pausing above it), so sequential reads — a registry replay
 * — cost no round trip each; a read elsewhere seeks and drops the buffer.
 */
export class PartitionReader {
  private consumer: Consumer | null = null;
  private buffer: LogRecord[] = [];
  /** Records before `head` were handed out already (an index, not shift(): shift is O(n)). */
  private head = 0;
  private bufferBytes = 0;
  /** The offset after the last one the consumer fetched: the buffer holds [buffer[0].offset, streamPos). */
  private streamPos = 0;
  private paused = false;
  private waiters = new Set<() => void>();
  private reading: Promise<void> = Promise.resolve();
  lastUsed = Date.now();

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    readonly partition: number,
    private readonly endOffset: () => Promise<number>,
  ) {}

  async start(from: number): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `aerofn-reader-${randomUUID()}`,
      partitionAssigners: [singlePartitionAssigner(this.topic, this.partition)],
      allowAutoTopicCreation: false,
      readUncommitted: false,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    this.streamPos = from;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    // After a rejoin (kafkajs restarts a crashed consumer) the position would fall back to the
    // earliest offset: continue where this reader got instead.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      consumer.seek({ topic: this.topic, partition: this.partition, offset: String(this.streamPos) });
    });
    // Batches of only transaction markers or aborted records never reach eachBatch; this moves past them.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== this.topic || payload.partition !== this.partition) return;
      const next = Number(payload.lastOffset) + 1;
      if (next > this.streamPos && this.head === this.buffer.length) this.streamPos = next;
      this.wake();
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, isStale }) => {
        if (isStale() || batch.partition !== this.partition) return;
        for (const message of batch.messages) {
          const record = toLogRecord(this.topic, this.partition, message);
          if (record.offset < this.streamPos) continue;
          this.buffer.push(record);
          this.bufferBytes += recordBytes(record);
          this.streamPos = record.offset + 1;
        }
        if (!this.paused && (this.bufferBytes > PAUSE_ABOVE_BYTES || this.buffer.length - this.head > PAUSE_ABOVE_RECORDS)) {
          this.paused = true;
          consumer.pause([{ topic: this.topic }]);
        }
        this.wake();
      },
    });
    consumer.seek({ topic: this.topic, partition: this.partition, offset: String(from) });
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private reposition(from: number): void {
    this.buffer = [];
    this.head = 0;
    this.bufferBytes = 0;
    this.streamPos = from;
    this.consumer!.seek({ topic: this.topic, partition: this.partition, offset: String(from) });
    this.resumeIfPaused();
  }

  private resumeIfPaused(): void {
    if (this.paused && this.bufferBytes < PAUSE_ABOVE_BYTES / 2 && this.buffer.length - this.head < PAUSE_ABOVE_RECORDS / 2) {
      this.paused = false;
      this.consumer!.resume([{ topic: this.topic }]);
    }
  }

  /** Reads of one partition run one at a time: two interleaved reads at different offsets would keep seeking. */
  read(from: number, maxRecords: number, maxBytes: number, maxWaitMs: number): Promise<LogRecord[]> {
    const run = this.reading.then(() => this.readNow(from, maxRecords, maxBytes, maxWaitMs));
    this.reading = run.then(() => undefined, () => undefined);
    return run;
  }

  private async readNow(from: number, maxRecords: number, maxBytes: number, maxWaitMs: number): Promise<LogRecord[]> {
    this.lastUsed = Date.now();
    const bufferStart = this.buffer[this.head]?.offset ?? this.streamPos;
    if (from < bufferStart || from > this.streamPos) this.reposition(from);
    while (this.head < this.buffer.length && this.buffer[this.head]!.offset < from) this.take();
    if (this.head === this.buffer.length) {
      const end = await this.endOffset();
      const started = Date.now();
      while (this.head === this.buffer.length) {
        // Below the end a fetch answers at once; past it (or once only markers were left) wait maxWaitMs.
        const budget = this.streamPos < end ? Math.max(maxWaitMs, BELOW_END_WAIT_MS) : maxWaitMs;
        const left = started + budget - Date.now();
        if (left <= 0) break;
        await this.waitForChange(Math.min(left, 250));
      }
    }
    const out: LogRecord[] = [];
    let bytes = 0;
    while (this.head < this.buffer.length && out.length < maxRecords) {
      const next = this.buffer[this.head]!;
      if (out.length > 0 && bytes + recordBytes(next) > maxBytes) break;
      bytes += recordBytes(next);
      out.push(this.take());
    }
    if (this.head > 4096 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    this.resumeIfPaused();
    return out;
  }

  private take(): LogRecord {
    const record = this.buffer[this.head++]!;
    this.bufferBytes -= recordBytes(record);
    return record;
  }

  async close(): Promise<void> {
    this.wake();
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}
