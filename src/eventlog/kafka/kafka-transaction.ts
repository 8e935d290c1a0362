import { Partitioners, type Kafka, type Message, type Producer, type Transaction } from 'kafkajs';
import type { AppendRecord, LogTransaction, TopicPartitionOffset } from '../event-log.js';
import { EventLogError } from '../event-log-error.js';

type ToMessages = (topic: string, records: readonly AppendRecord[]) => Promise<Message[]>;

/** One transactional producer per transactional id; a new one with the same id fences the old (Kafka's zombie fencing). */
export class TransactionalProducers {
  private readonly current = new Map<string, { producer: Producer; busy: boolean }>();
  private readonly all: Producer[] = [];

  constructor(
    private readonly kafka: Kafka,
    private readonly toMessages: ToMessages,
  ) {}

  async begin(transactionalId: string): Promise<LogTransaction> {
    let entry = this.current.get(transactionalId);
    if (entry === undefined || entry.busy) {
      const producer = this.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      this.all.push(producer);
      entry = { producer, busy: false };
      this.current.set(transactionalId, entry);
    }
    const held = entry;
    held.busy = true;
    const txn = await held.producer.transaction();
    return new KafkaTransaction(txn, this.toMessages, () => (held.busy = false));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((p) => p.disconnect()));
  }
}

/** Appends and offset commits in one Kafka transaction: read_committed readers see all or none. */
class KafkaTransaction implements LogTransaction {
  private ended = false;

  constructor(
    private readonly txn: Transaction,
    private readonly toMessages: ToMessages,
    private readonly onEnd: () => void,
  ) {}

  private checkOpen(): void {
    if (this.ended) throw new EventLogError('TRANSACTION_STATE', 'the transaction is already committed or aborted; begin a new one');
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<void> {
    this.checkOpen();
    await this.txn.send({ topic, messages: await this.toMessages(topic, records), acks: -1 });
  }

  async commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const { topic, partition, offset } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset: String(offset) }]);
    await this.txn.sendOffsets({ consumerGroupId: groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
  }

  async commit(): Promise<void> {
    this.checkOpen();
    this.ended = true;
    try {
      await this.txn.commit();
    } catch (error) {
      throw new EventLogError('TRANSACTION_STATE', `committing the Kafka transaction failed: ${(error as Error).message}; it was not applied — begin a new one`, { cause: error });
    } finally {
      this.onEnd();
    }
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      if (this.txn.isActive()) await this.txn.abort();
    } finally {
      this.onEnd();
    }
  }
}
