import type { Logger } from 'pino';
import type { StartPosition, SubscribeOptions, Subscription } from '../event-log.js';
import type { PartitionLog } from './partition-log.js';

export interface SubscriptionHost {
  /** Partitions of the topics that match, now (new matching topics are picked up while running). */
  matchingPartitions(topics: SubscribeOptions['topics']): PartitionLog[];
  committed(groupId: string, topic: string): Map<number, number>;
  readonly logger: Logger;
}

const POLL_MS = 500;
const RETRY_MS = 1000;
const BATCH_RECORDS = 2000;
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * A single-process consumer group: the one member owns every partition of the subscribed topics.
 * One loop per partition delivers batches in offset order and waits for each to finish; a batch
 * whose handler throws is delivered again after a pause (at-least-once, like a Kafka consumer
 * that restarts from its position). Offsets are committed by the caller, never here.
 */
export class EmbeddedSubscription implements Subscription {
  private readonly positions = new Map<PartitionLog, number>();
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private watcher: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly options: SubscribeOptions,
  ) {}

  async start(): Promise<void> {
    await this.attach();
    if (this.options.topics.some((t) => t instanceof RegExp)) {
      this.watcher = setInterval(() => void this.attach(), POLL_MS);
      this.watcher.unref();
    }
  }

  private async attach(): Promise<void> {
    for (const log of this.host.matchingPartitions(this.options.topics)) {
      if (this.positions.has(log)) continue;
      this.positions.set(log, await this.startOffset(log, this.options.start ?? 'committed'));
      this.loops.push(this.run(log));
    }
  }

  private async startOffset(log: PartitionLog, start: StartPosition): Promise<number> {
    if (typeof start === 'object') return log.offsetForTimestamp(start.timestamp);
    const committed = this.host.committed(this.options.groupId, log.topic).get(log.partition);
    if (committed !== undefined) return committed;
    return start === 'latest' ? log.endOffset : log.startOffset;
  }

  private async run(log: PartitionLog): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      if (this.paused) {
        await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
        continue;
      }
      const position = this.positions.get(log)!;
      let batch;
      try {
        batch = await log.readBatch(position, BATCH_RECORDS, BATCH_BYTES);
      } catch (error) {
        this.host.logger.error({ err: error, topic: log.topic, partition: log.partition }, 'reading a partition for a subscription failed');
        await sleep(RETRY_MS, signal);
        continue;
      }
      const { records } = batch;
      if (records.length === 0) {
        // Only superseded records of a compacted topic (or none): skip them and wait for more.
        this.positions.set(log, batch.next);
        await log.waitForData(batch.next, POLL_MS, signal);
        continue;
      }
      try {
        await this.options.eachBatch({ topic: log.topic, partition: log.partition, records });
        this.positions.set(log, records[records.length - 1]!.offset + 1);
      } catch (error) {
        this.host.logger.warn({ err: error, topic: log.topic, partition: log.partition, offset: position }, 'eachBatch failed; delivering the batch again');
        await sleep(RETRY_MS, signal);
      }
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const wake of waiters) wake();
  }

  async assignments(): Promise<ReadonlyArray<{ topic: string; partition: number; lag: number }>> {
    // Lag is what the group has not committed (Kafka's definition), not what this member has read.
    return [...this.positions].map(([log]) => {
      const committed = this.host.committed(this.options.groupId, log.topic).get(log.partition);
      return { topic: log.topic, partition: log.partition, lag: Math.max(0, log.endOffset - (committed ?? log.startOffset)) };
    });
  }

  async close(): Promise<void> {
    if (this.watcher !== undefined) clearInterval(this.watcher);
    this.abort.abort();
    this.resume();
    this.paused = true; // loops that wake now see `aborted` and end
    await Promise.all(this.loops);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
