import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { StartPosition, SubscribeOptions, Subscription, TopicPartitionOffset } from '../event-log.js';
import { toLogRecord } from './kafka-records.js';

export interface KafkaSubscriptionHost {
  readonly kafka: Kafka;
  readonly logger: Logger;
  endOffsets(topic: string): Promise<number[]>;
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
}

/**
 * A member of a real Kafka consumer group (read_committed, nothing auto-committed). Partitions are
 * split among the group's members by Kafka; batches of one partition arrive in order and the next
 * one waits for eachBatch. A throwing eachBatch makes kafkajs retry, then restart the consumer from
 * the committed offsets (at-least-once).
 */
export class KafkaSubscription implements Subscription {
  private readonly consumer: Consumer;
  private assigned: Record<string, number[]> = {};
  private readonly positioned = new Set<string>();

  constructor(
    private readonly host: KafkaSubscriptionHost,
    private readonly options: SubscribeOptions,
  ) {
    this.consumer = host.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
    });
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    const start = options.start ?? 'committed';
    let joined: () => void = () => undefined;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = payload.memberAssignment;
      this.positionNewPartitions(start)
        .catch((error: unknown) => this.host.logger.warn({ err: error, groupId: options.groupId }, 'positioning newly assigned partitions failed'))
        .finally(joined);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: start !== 'latest' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, isStale, heartbeat }) => {
        if (isStale() || batch.messages.length === 0) return;
        const records = batch.messages.map((m) => toLogRecord(batch.topic, batch.partition, m));
        // A slow batch (invocations run up to their timeout) must not cost this member its partitions.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), 3000);
        try {
          await options.eachBatch({ topic: batch.topic, partition: batch.partition, records });
        } finally {
          clearInterval(beat);
        }
      },
    });
    // Resolve once this member owns its partitions, so that 'latest' means "after subscribe returned".
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([firstJoin, new Promise<void>((resolve) => (timer = setTimeout(resolve, 30_000)))]);
    clearTimeout(timer);
  }

  /**
   * A start time applies once per partition, on its first assignment (later rebalances go on from
   * where the group got). 'latest' is pinned to the end offset at join time for partitions with no
   * committed offset: kafkajs would look the end up only at its first fetch, after subscribe()
   * returned, and so skip records appended in between.
   */
  private async positionNewPartitions(start: StartPosition): Promise<void> {
    if (start !== 'latest' && typeof start !== 'object') return;
    for (const [topic, partitions] of Object.entries(this.assigned)) {
      const fresh = partitions.filter((p) => !this.positioned.has(`${topic}\u0000${p}`));
      if (fresh.length === 0) continue;
      const committed = start === 'latest' ? await this.host.committedOffsets(this.options.groupId, topic) : new Map<number, number>();
      const ends = start === 'latest' ? await this.host.endOffsets(topic) : [];
      for (const partition of fresh) {
        this.positioned.add(`${topic}\u0000${partition}`);
        if (start === 'latest' && committed.has(partition)) continue;
        const offset = start === 'latest' ? (ends[partition] ?? 0) : await this.host.offsetForTimestamp(topic, partition, start.timestamp);
        this.consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
  }

  pause(): void {
    this.consumer.pause(this.topics().map((topic) => ({ topic })));
  }

  resume(): void {
    this.consumer.resume(this.topics().map((topic) => ({ topic })));
  }

  private topics(): string[] {
    const names = new Set<string>(Object.keys(this.assigned));
    for (const t of this.options.topics) if (typeof t === 'string') names.add(t);
    return [...names];
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })));
  }

  async assignments(): Promise<ReadonlyArray<{ topic: string; partition: number; lag: number }>> {
    const out: Array<{ topic: string; partition: number; lag: number }> = [];
    for (const [topic, partitions] of Object.entries(this.assigned)) {
      const [ends, committed] = await Promise.all([this.host.endOffsets(topic), this.host.committedOffsets(this.options.groupId, topic)]);
      for (const partition of partitions) {
        const end = ends[partition] ?? 0;
        out.push({ topic, partition, lag: Math.max(0, end - (committed.get(partition) ?? 0)) });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}
