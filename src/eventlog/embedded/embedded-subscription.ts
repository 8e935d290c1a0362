import type { Logger } from 'pino';
import type { StartPosition, SubscribeOptions, Subscription } from '../event-log.js';
import { takenOf } from '../batch-result.js';
import type { EmbeddedGroup, GroupMember } from './embedded-group.js';
import type { PartitionLog } from './partition-log.js';

export interface SubscriptionHost {
  /** Partitions of the topics that match, now (new matching topics are picked up while running). */
  matchingPartitions(topics: SubscribeOptions['topics']): PartitionLog[];
  committed(groupId: string, topic: string): Map<number, number>;
  /** The group of this id in this process (made on first use). */
  group(groupId: string): EmbeddedGroup;
  /** Forgets the group once its last member has left. */
  release(groupId: string): void;
  readonly logger: Logger;
}

const POLL_MS = 500;
const RETRY_MS = 1000;
const BATCH_RECORDS = 2000;
const BATCH_BYTES = 4 * 1024 * 1024;

/** A partition this member delivers: its loop, and how to stop it at a batch boundary. */
interface Delivery {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

/**
 * One member of a consumer group in this process (EmbeddedGroup assigns it partitions, as Kafka's
 * coordinator would; alone it owns every partition of its topics). One loop per owned partition
 * delivers batches in offset order and waits for each to finish; a batch whose handler throws is
 * delivered again after a pause (at-least-once, like a Kafka consumer that restarts from its
 * position). A partition taken away stops after the batch in hand, and its new owner starts from
 * the group's committed offset. Offsets are committed by the caller, never here.
 */
export class EmbeddedSubscription implements Subscription, GroupMember {
  private readonly positions = new Map<PartitionLog, number>();
  private readonly deliveries = new Map<PartitionLog, Delivery>();
  private readonly group: EmbeddedGroup;
  private closed = false;
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private watcher: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly options: SubscribeOptions,
  ) {
    this.group = host.group(options.groupId);
  }

  /** Joins the group; resolves once the partitions it was given know where they start. */
  async start(): Promise<void> {
    await this.group.join(this);
    if (this.options.topics.some((t) => t instanceof RegExp)) {
      // Errors are logged where they happen (deliver); the next tick tries again.
      this.watcher = setInterval(() => void this.reconcile().catch(() => undefined), POLL_MS);
      this.watcher.unref();
    }
  }

  subscribes(topic: string): boolean {
    return this.options.topics.some((t) => (typeof t === 'string' ? t === topic : t.test(topic)));
  }

  async reconcile(): Promise<void> {
    if (this.closed) return;
    const starting: Array<Promise<void>> = [];
    for (const log of this.host.matchingPartitions(this.options.topics)) {
      if (this.group.owns(this, log) && !this.deliveries.has(log)) starting.push(this.deliver(log));
    }
    for (const [log, delivery] of this.deliveries) {
      if (this.group.owns(this, log)) continue;
      delivery.stop.abort();
      this.deliveries.delete(log);
      this.positions.delete(log);
    }
    await Promise.all(starting);
  }

  /** Starts delivering `log` once its last owner has finished; resolves when its start offset is known. */
  private deliver(log: PartitionLog): Promise<void> {
    const stop = new AbortController();
    let positioned: () => void = () => undefined;
    let failed: (error: unknown) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      positioned = resolve;
      failed = reject;
    });
    const done = this.group.handOver(log, async () => {
      if (stop.signal.aborted) return positioned();
      try {
        this.positions.set(log, await this.startOffset(log, this.options.start ?? 'committed'));
      } catch (error) {
        this.host.logger.error({ err: error, topic: log.topic, partition: log.partition }, 'cannot find where to start reading a partition; it is not delivered');
        if (this.deliveries.get(log)?.stop === stop) this.deliveries.delete(log);
        return failed(error);
      }
      positioned();
      await this.run(log, stop.signal);
      // Taken away by a rebalance (not by close): the member finishes that partition's work before
      // the new owner, which handOver chains after this, reads from the committed offset.
      if (!this.closed && this.options.onRevoked !== undefined) {
        await this.options.onRevoked({ topic: log.topic, partition: log.partition }).catch((error: unknown) => {
          this.host.logger.warn({ err: error, topic: log.topic, partition: log.partition }, 'onRevoked failed; the new owner starts at the committed offset anyway');
        });
      }
    });
    this.deliveries.set(log, { stop, done });
    return ready;
  }

  private async startOffset(log: PartitionLog, start: StartPosition): Promise<number> {
    if (typeof start === 'object') return log.offsetForTimestamp(start.timestamp);
    const committed = this.host.committed(this.options.groupId, log.topic).get(log.partition);
    if (committed !== undefined) return committed;
    return start === 'latest' ? log.endOffset : log.startOffset;
  }

  private async run(log: PartitionLog, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.paused) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            signal.removeEventListener('abort', wake);
            resolve();
          };
          this.resumeWaiters.push(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
        continue;
      }
      const position = this.positions.get(log);
      if (position === undefined) return;
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
        const result = await this.options.eachBatch({ topic: log.topic, partition: log.partition, records });
        // Records the handler handed back (BatchResult) start the partition's next batch.
        const taken = takenOf(result, records.length);
        if (!signal.aborted) this.positions.set(log, taken < records.length ? records[taken]!.offset : records[records.length - 1]!.offset + 1);
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
    if (this.closed) return;
    this.closed = true;
    if (this.watcher !== undefined) clearInterval(this.watcher);
    const deliveries = [...this.deliveries.values()];
    this.deliveries.clear();
    for (const delivery of deliveries) delivery.stop.abort();
    await Promise.all(deliveries.map((delivery) => delivery.done));
    // Only now: the members that take these partitions over start where this one stopped.
    await this.group.leave(this);
    this.host.release(this.options.groupId);
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
