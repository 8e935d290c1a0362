import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { StartPosition, SubscribeOptions, Subscription, TopicPartitionOffset } from '../event-log.js';
import { takenOf } from '../batch-result.js';
import { toLogRecord } from './kafka-records.js';

export interface KafkaSubscriptionHost {
  readonly kafka: Kafka;
  readonly logger: Logger;
  endOffsets(topic: string): Promise<number[]>;
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
}

/** How often a member heartbeats; also how soon a batch in progress hears of a rebalance. */
const HEARTBEAT_MS = 1000;

/** kafkajs's own test (errors.isRebalancing) for "the group is rebalancing; rejoin". */
function isRebalancing(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
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
  /**
   * A heartbeat during a batch answered that the group is rebalancing: kafkajs rejoins once every
   * batch in progress has returned, so handlers are asked to return soon (Batch.yieldRequested).
   */
  private rebalancePending = false;

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
      heartbeatInterval: HEARTBEAT_MS,
    });
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    const start = options.start ?? 'committed';
    let joined: () => void = () => undefined;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    // Where 'latest' and a start time put each partition, looked up before joining: the seek must be
    // in place when kafkajs fetches first (right after the join), or it reads from the earliest offset.
    const targets = await this.startTargets(start);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.rebalancePending = false;
      this.assigned = payload.memberAssignment;
      const late = this.seekNewPartitions(start, targets);
      late
        .catch((error: unknown) => this.host.logger.warn({ err: error, groupId: options.groupId }, 'positioning newly assigned partitions failed'))
        .finally(joined);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: start !== 'latest' });
    await consumer.run({
      autoCommit: false,
      // Resolved here, so that records a handler hands back (BatchResult) are fetched again.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, isStale, heartbeat, resolveOffset }) => {
        if (isStale()) return;
        // Only transaction markers or aborted records: move past them.
        if (batch.messages.length === 0) return resolveOffset(batch.lastOffset());
        const records = batch.messages.map((m) => toLogRecord(batch.topic, batch.partition, m));
        // A slow batch (invocations run up to their timeout) must not cost this member its
        // partitions; and a heartbeat is how a member hears that a rebalance waits for it.
        const beat = setInterval(
          () =>
            void heartbeat().catch((error: unknown) => {
              if (isRebalancing(error)) this.rebalancePending = true;
            }),
          HEARTBEAT_MS,
        );
        try {
          const result = await options.eachBatch({ topic: batch.topic, partition: batch.partition, records, yieldRequested: () => this.rebalancePending });
          const taken = takenOf(result, records.length);
          if (taken > 0) resolveOffset(batch.messages[taken - 1]!.offset);
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

  /** Offsets to seek to per "topic\0partition" (null = keep the committed offset), for the named topics. */
  private async startTargets(start: StartPosition): Promise<Map<string, number | null>> {
    const targets = new Map<string, number | null>();
    if (start !== 'latest' && typeof start !== 'object') return targets;
    for (const topic of this.options.topics) {
      if (typeof topic !== 'string') continue;
      for (const [partition, offset] of (await this.startOffsetsOf(topic, start)).entries()) targets.set(`${topic}\u0000${partition}`, offset);
    }
    return targets;
  }

  private async startOffsetsOf(topic: string, start: 'latest' | { timestamp: number }): Promise<Array<number | null>> {
    const ends = await this.host.endOffsets(topic);
    if (start === 'latest') {
      const committed = await this.host.committedOffsets(this.options.groupId, topic);
      return ends.map((end, partition) => (committed.has(partition) ? null : end));
    }
    return Promise.all(ends.map((_, partition) => this.host.offsetForTimestamp(topic, partition, start.timestamp)));
  }

  /**
   * A start time applies once per partition, on its first assignment (later rebalances go on from
   * where the group got); 'latest' pins partitions without a committed offset to the end offset at
   * subscribe time. Known partitions are positioned synchronously; those of topics that matched a
   * RegExp are looked up now, which may let a first batch through from the committed/earliest offset.
   */
  private async seekNewPartitions(start: StartPosition, targets: Map<string, number | null>): Promise<void> {
    if (start !== 'latest' && typeof start !== 'object') return;
    const unknown: Array<[string, number]> = [];
    for (const [topic, partitions] of Object.entries(this.assigned)) {
      for (const partition of partitions) {
        const id = `${topic}\u0000${partition}`;
        if (this.positioned.has(id)) continue;
        this.positioned.add(id);
        if (!targets.has(id)) {
          unknown.push([topic, partition]);
          continue;
        }
        const offset = targets.get(id);
        if (offset !== null && offset !== undefined) this.consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
    for (const [topic, partition] of unknown) {
      const offset = (await this.startOffsetsOf(topic, start))[partition];
      if (offset !== null && offset !== undefined) this.consumer.seek({ topic, partition, offset: String(offset) });
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
