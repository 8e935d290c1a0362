/**
 * The EventLog port: the few Kafka ideas the service relies on (topics with partitions, keyed
 * appends, offsets, consumer groups with committed offsets, transactions), so that the embedded
 * file log and Kafka are interchangeable. Nothing outside src/eventlog imports kafkajs.
 *
 * Offsets are numbers: the next offset of a partition is its end offset, and a committed offset
 * is the next one to read (Kafka's convention).
 */
export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number; // default 1
  readonly compacted?: boolean; // keep the newest record per key
  readonly maxMessageBytes?: number;
  /**
   * Delete records older than this (whole segments on the embedded log, Kafka's retention.ms).
   * Default: keep everything — the registry is an audit trail and replays need its full history.
   */
  readonly retentionMs?: number;
}

export type Headers = Record<string, string>;

export interface AppendRecord {
  readonly key?: string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Headers;
  /** Without a partition, a record with a key goes to hash(key) % partitions, else round-robin. */
  readonly partition?: number;
  readonly timestamp?: number;
}

export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
}

export interface AppendResult {
  readonly partition: number;
  readonly offset: number;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Where a consumer group starts on a partition that has no committed offset (or always, for a time). */
export type StartPosition = 'committed' | 'earliest' | 'latest' | { readonly timestamp: number };

export interface ReadOptions {
  /** Default 10,000. */
  readonly maxRecords?: number;
  /** A soft cap on the bytes returned (at least one record is returned even if larger). Default 8 MiB. */
  readonly maxBytes?: number;
  /** At the end of the partition, wait up to this long for a record before returning []. Default 0. */
  readonly maxWaitMs?: number;
}

export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
  /**
   * True once the log wants this member's batches back soon: a rebalance waits for them (Kafka,
   * which has no revoke hook, rejoins only after every batch in progress returned). A handler that
   * sees it takes in no more records and resolves with how many it took (BatchResult); the rest
   * are fetched again by whichever member owns the partition next. Absent where nothing waits.
   */
  readonly yieldRequested?: () => boolean;
}

/** What eachBatch may resolve with: it took only the first `taken` records; the rest come again. */
export interface BatchResult {
  readonly taken: number;
}

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly (string | RegExp)[];
  readonly start?: StartPosition; // default 'committed', falling back to 'earliest'
  /**
   * Called with records of one partition in offset order; the next batch of that partition waits
   * for it. Resolving with `{ taken }` hands the records from `taken` on back: the partition's next
   * batch starts with them (0 ≤ taken ≤ records.length; void means all were taken).
   */
  readonly eachBatch: (batch: Batch) => Promise<void | BatchResult>;
  /**
   * Called when a partition is taken from this member by a rebalance (another member joined),
   * after its last batch returned and before its new owner starts reading at the committed offset:
   * the place to finish and commit that partition's work still in flight (Kafka's
   * onPartitionsRevoked), so that the new owner does not do it again. The embedded log waits for
   * it. The Kafka adapter does not call it: kafkajs has no revoke hook (docs/event-log.md).
   */
  readonly onRevoked?: (partition: { readonly topic: string; readonly partition: number }) => Promise<void>;
  /** Commits are explicit (commitOffsets); nothing is auto-committed. */
}

export interface Subscription {
  pause(): void;
  resume(): void;
  /** Partitions currently assigned to this member, with their consumer lag. */
  assignments(): Promise<ReadonlyArray<{ topic: string; partition: number; lag: number }>>;
  close(): Promise<void>;
}

/** An atomic unit: appends and offset commits become visible together or not at all. */
export interface LogTransaction {
  append(topic: string, records: readonly AppendRecord[]): Promise<void>;
  commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  ensureTopic(spec: TopicSpec): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]>;
  /** Up to `maxRecords` records of one partition from `fromOffset` on; [] at the end. */
  read(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<LogRecord[]>;
  /** The first offset of each partition (after retention/compaction). */
  startOffsets(topic: string): Promise<number[]>;
  /** The next offset to be written, for each partition. */
  endOffsets(topic: string): Promise<number[]>;
  /** The first offset whose timestamp is ≥ `timestamp`, or the end offset. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Only where the backend has transactions (Kafka, and the embedded log's own). */
  beginTransaction(transactionalId: string): Promise<LogTransaction>;
  close(): Promise<void>;
}
