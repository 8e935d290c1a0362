import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, type Admin, type Producer, type Message } from 'kafkajs';
import type { Logger } from 'pino';
import type {
  AppendRecord,
  AppendResult,
  EventLog,
  LogRecord,
  LogTransaction,
  ReadOptions,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
} from '../event-log.js';
import { EventLogError, checkTopicName } from '../event-log-error.js';
import { RoundRobin, partitionForKey } from '../partitioner.js';
import { kafkaLogCreator, kafkaLogLevel } from './kafka-logging.js';
import { createTopicRetriable, kafkaErrorType, offsetsRetriable, withBackoff } from './kafka-retries.js';
import { toMessage } from './kafka-records.js';
import { KafkaSubscription } from './kafka-subscription.js';
import { TransactionalProducers } from './kafka-transaction.js';
import { PartitionReader } from './partition-reader.js';
import { ProduceBatcher } from './produce-batcher.js';

export interface KafkaEventLogOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
}

const MAX_READERS = 32;

/** Connects to the brokers (admin and an idempotent producer) and returns the Kafka-backed EventLog. */
export async function openKafkaEventLog(options: KafkaEventLogOptions): Promise<KafkaEventLog> {
  if (options.brokers.length === 0) throw new EventLogError('INVALID_ARGUMENT', 'no Kafka brokers given; set AEROFN_KAFKA_BROKERS (host:port,…) or leave it unset for the embedded log');
  const log = new KafkaEventLog(options);
  try {
    await log.connect();
  } catch (error) {
    await log.close().catch(() => undefined);
    throw new EventLogError('BACKEND', `cannot reach Kafka at ${options.brokers.join(',')} (${(error as Error).message}); is the broker running (make kafka-up)?`, { cause: error });
  }
  return log;
}

/**
 * The EventLog on Apache Kafka through kafkajs (the only kafkajs user in src). Reads are
 * read_committed; appends go through one idempotent producer with acks=all.
 */
export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly batcher: ProduceBatcher;
  private readonly logger: Logger;
  private readonly partitionCounts = new Map<string, number>();
  private readonly roundRobin = new RoundRobin();
  private readonly readers = new Map<string, Promise<PartitionReader>>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly subscriptionsByGroup = new Map<string, KafkaSubscription>();
  private readonly transactions: TransactionalProducers;
  private readonly offsetCommitterId: string;
  private offsetCommits: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: KafkaEventLogOptions) {
    this.logger = options.logger;
    this.offsetCommitterId = `${options.clientId}-offsets-${randomUUID()}`;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: kafkaLogLevel(options.logger),
      logCreator: kafkaLogCreator(options.logger),
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    this.batcher = new ProduceBatcher(this.producer);
    this.transactions = new TransactionalProducers(this.kafka, (topic, records) => this.toMessages(topic, records));
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    await this.producer.connect();
  }

  private checkOpen(): void {
    if (this.closed) throw new EventLogError('CLOSED', 'the event log is closed');
  }

  async ensureTopic(spec: TopicSpec): Promise<void> {
    this.checkOpen();
    checkTopicName(spec.name);
    const configEntries = [{ name: 'cleanup.policy', value: spec.compacted ? 'compact' : 'delete' }];
    if (spec.maxMessageBytes !== undefined) configEntries.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
    // Kafka's default retention (7 days) would silently drop the audit trail: keep everything unless told.
    if (!spec.compacted || spec.retentionMs !== undefined) configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs ?? -1) });
    try {
      await withBackoff(
        () => this.admin.createTopics({ waitForLeaders: true, topics: [{ topic: spec.name, numPartitions: spec.partitions ?? 1, configEntries }] }),
        createTopicRetriable,
        () => !this.closed,
      );
    } catch (error) {
      throw new EventLogError('BACKEND', `creating topic "${spec.name}" failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    try {
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count === 0) throw new Error('no partitions');
      this.partitionCounts.set(topic, count);
      return count;
    } catch (error) {
      throw new EventLogError('UNKNOWN_TOPIC', `topic "${topic}" does not exist on Kafka; create it with ensureTopic() first (${(error as Error).message})`, { cause: error });
    }
  }

  /** Kafka messages with their partitions chosen by the shared partitioner (the same as the embedded log's). */
  async toMessages(topic: string, records: readonly AppendRecord[]): Promise<Message[]> {
    this.checkOpen();
    const partitions = await this.partitionCount(topic);
    return records.map((record) => {
      const key = record.key ?? null;
      const partition = record.partition ?? (key === null ? this.roundRobin.next(topic, partitions) : partitionForKey(key, partitions));
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
        throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" has partitions 0..${partitions - 1}, not ${partition}`);
      }
      return toMessage(record, partition);
    });
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    const messages = await this.toMessages(topic, records);
    if (messages.length === 0) return [];
    return this.batcher.send(topic, messages);
  }

  async read(topic: string, partition: number, fromOffset: number, options: ReadOptions = {}): Promise<LogRecord[]> {
    this.checkOpen();
    const partitions = await this.partitionCount(topic);
    if (partition < 0 || partition >= partitions) throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" has partitions 0..${partitions - 1}, not ${partition}`);
    const reader = await this.reader(topic, partition, fromOffset);
    return reader.read(fromOffset, options.maxRecords ?? 10_000, options.maxBytes ?? 8 * 1024 * 1024, options.maxWaitMs ?? 0);
  }

  private async reader(topic: string, partition: number, from: number): Promise<PartitionReader> {
    const id = `${topic}\u0000${partition}`;
    let reader = this.readers.get(id);
    if (reader === undefined) {
      if (this.readers.size >= MAX_READERS) await this.evictReader();
      const created = new PartitionReader(this.kafka, topic, partition, async () => (await this.endOffsets(topic))[partition] ?? 0);
      reader = created.start(from).then(() => created);
      this.readers.set(id, reader);
      reader.catch(() => this.readers.delete(id));
    }
    return reader;
  }

  private async evictReader(): Promise<void> {
    const all = await Promise.all([...this.readers].map(async ([id, r]) => [id, await r] as const));
    const [id, oldest] = all.reduce((a, b) => (b[1].lastUsed < a[1].lastUsed ? b : a));
    this.readers.delete(id);
    await oldest.close();
  }

  async startOffsets(topic: string): Promise<number[]> {
    return (await this.topicOffsets(topic)).map((p) => Number(p.low));
  }

  async endOffsets(topic: string): Promise<number[]> {
    return (await this.topicOffsets(topic)).map((p) => Number(p.high));
  }

  private async topicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>> {
    this.checkOpen();
    try {
      const offsets = await withBackoff(() => this.admin.fetchTopicOffsets(topic), offsetsRetriable, () => !this.closed);
      return offsets.sort((a, b) => a.partition - b.partition);
    } catch (error) {
      if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw new EventLogError('UNKNOWN_TOPIC', `cannot read the offsets of topic "${topic}": ${(error as Error).message}; create it with ensureTopic() first`, { cause: error });
      }
      throw new EventLogError('BACKEND', `cannot read the offsets of topic "${topic}": ${(error as Error).message}`, { cause: error });
    }
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    this.checkOpen();
    const offsets = await this.admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
    const found = offsets.find((o) => o.partition === partition);
    if (found === undefined) throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" has no partition ${partition}`);
    return Number(found.offset);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    for (const topic of options.topics) if (typeof topic === 'string') await this.partitionCount(topic);
    const subscription = new KafkaSubscription(
      {
        kafka: this.kafka,
        logger: this.logger,
        endOffsets: (topic) => this.endOffsets(topic),
        committedOffsets: (groupId, topic) => this.committedOffsets(groupId, topic),
        offsetForTimestamp: (topic, partition, timestamp) => this.offsetForTimestamp(topic, partition, timestamp),
      },
      options,
    );
    await subscription.start();
    this.subscriptions.add(subscription);
    this.subscriptionsByGroup.set(options.groupId, subscription);
    const close = subscription.close.bind(subscription);
    subscription.close = async () => {
      this.subscriptions.delete(subscription);
      if (this.subscriptionsByGroup.get(options.groupId) === subscription) this.subscriptionsByGroup.delete(options.groupId);
      await close();
    };
    return subscription;
  }

  /**
   * Through this process's member of the group when there is one; otherwise as a one-off Kafka
   * transaction (TxnOffsetCommit needs no group membership, and kafkajs's admin.setOffsets would
   * join the group and wait seconds for a fetch). Commits of this log are applied in call order.
   */
  async commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    const member = this.subscriptionsByGroup.get(groupId);
    if (member !== undefined) return member.commit(offsets);
    const run = this.offsetCommits.then(async () => {
      const txn = await this.transactions.begin(this.offsetCommitterId);
      try {
        await txn.commitOffsets(groupId, offsets);
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => undefined);
        // A cluster without transactions (or without the ACL for them) still takes an admin commit for an empty group.
        this.logger.warn({ err: error, groupId }, 'committing offsets in a transaction failed; trying admin.setOffsets');
        await this.setOffsetsAsAdmin(groupId, offsets);
      }
    });
    this.offsetCommits = run.catch(() => undefined);
    return run;
  }

  private async setOffsetsAsAdmin(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const { topic, partition, offset } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset: String(offset) }]);
    for (const [topic, partitions] of byTopic) {
      try {
        await this.admin.setOffsets({ groupId, topic, partitions });
      } catch (error) {
        throw new EventLogError('BACKEND', `committing offsets of group "${groupId}" failed: ${(error as Error).message} (outside a subscription, Kafka takes them only in a transaction or while the group has no members)`, { cause: error });
      }
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    this.checkOpen();
    const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    const out = new Map<number, number>();
    for (const { partition, offset } of result?.partitions ?? []) if (Number(offset) >= 0) out.set(partition, Number(offset));
    return out;
  }

  async beginTransaction(transactionalId: string): Promise<LogTransaction> {
    this.checkOpen();
    return this.transactions.begin(transactionalId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.readers.values()].map(async (r) => (await r).close()));
    await this.transactions.close();
    await this.batcher.drain();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
