import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { EmbeddedGroup } from './embedded-group.js';
import { EmbeddedSubscription } from './embedded-subscription.js';
import { EmbeddedTransaction } from './embedded-transaction.js';
import { GroupOffsets } from './group-offsets.js';
import { acquireLock } from './lock-file.js';
import { LogWriter, type PreparedRecord } from './log-writer.js';
import { PartitionLog } from './partition-log.js';
import { FRAME_HEADER_BYTES } from './record-format.js';
import { syncDir, writeFileAtomic } from './fs-util.js';
import { clearJournal, readJournal } from './txn-journal.js';

export interface EmbeddedEventLogOptions {
  /** The service's data dir; the log lives in `<dataDir>/log`. */
  readonly dataDir: string;
  /** fsync before an append (or commit) resolves. Default true (see docs/event-log.md). */
  readonly fsync?: boolean;
  readonly logger: Logger;
  /** Roll to a new segment file past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest record of a topic created without maxMessageBytes. Default 64 MiB. */
  readonly defaultMaxMessageBytes?: number;
}

/** What topic.json holds. */
interface TopicMeta {
  readonly partitions: number;
  readonly compacted: boolean;
  readonly maxMessageBytes: number;
  readonly retentionMs?: number;
}

interface TopicState extends TopicMeta {
  readonly name: string;
  readonly logs: PartitionLog[];
}

const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/** Opens (or creates) the embedded log of a data dir; only one process may have it open. */
export async function openEmbeddedEventLog(options: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  const root = join(options.dataDir, 'log');
  await mkdir(join(root, '.txn'), { recursive: true });
  const release = await acquireLock(join(root, '.lock'));
  try {
    const log = new EmbeddedEventLog(root, options, release, await GroupOffsets.open(join(root, '.groups'), options.fsync ?? true));
    await log.load();
    return log;
  } catch (error) {
    await release();
    throw error;
  }
}

/** The file-backed EventLog (DESIGN §2, embedded deployment). Format and guarantees: docs/event-log.md. */
export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, TopicState>();
  private readonly creating = new Map<string, Promise<void>>();
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  /** The members of each consumer group subscribed in this process. */
  private readonly consumerGroups = new Map<string, EmbeddedGroup>();
  private readonly transactions = new Map<string, EmbeddedTransaction>();
  private readonly roundRobin = new RoundRobin();
  private readonly writer: LogWriter;
  private readonly fsync: boolean;
  private readonly logger: Logger;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly options: EmbeddedEventLogOptions,
    private readonly release: () => Promise<void>,
    private readonly groups: GroupOffsets,
  ) {
    this.fsync = options.fsync ?? true;
    this.logger = options.logger;
    this.writer = new LogWriter({ fsync: this.fsync, segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024, txnDir: join(root, '.txn'), groups, logger: this.logger });
  }

  /** Opens every topic, then finishes a transaction that was committing when the process died. */
  async load(): Promise<void> {
    for (const name of await readdir(this.root)) {
      if (name.startsWith('.')) continue;
      const meta = await readFile(join(this.root, name, 'topic.json'), 'utf8').catch(() => null);
      if (meta === null) continue;
      await this.openTopic(name, JSON.parse(meta) as TopicMeta);
    }
    const pending = await readJournal(join(this.root, '.txn'));
    if (pending !== null) {
      for (const append of pending.appends) {
        const topic = this.topicState(append.topic);
        let log = topic.logs[append.partition]!;
        const first = append.frames[0]?.offset;
        if (first === undefined) continue;
        if (log.endOffset > first) {
          await log.truncateFrom(first);
          await log.close();
          log = await PartitionLog.open(log.dir, topic.name, append.partition, topic, this.logger);
          topic.logs[append.partition] = log;
        }
        const staged = await log.stage(append.frames, Number.MAX_SAFE_INTEGER);
        await log.sync(staged);
        log.publish(staged);
      }
      for (const { groupId, offsets } of pending.offsets) await this.groups.commit(groupId, offsets);
      this.logger.info({ appends: pending.appends.length }, 're-applied a transaction that was committing when the log last stopped');
    }
    await clearJournal(join(this.root, '.txn'), this.fsync);
  }

  private async openTopic(name: string, meta: TopicMeta): Promise<TopicState> {
    const logs: PartitionLog[] = [];
    for (let p = 0; p < meta.partitions; p++) logs.push(await PartitionLog.open(join(this.root, name, String(p)), name, p, meta, this.logger));
    const state: TopicState = { name, ...meta, logs };
    this.topics.set(name, state);
    return state;
  }

  private topicState(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (state === undefined) throw new EventLogError('UNKNOWN_TOPIC', `topic "${topic}" does not exist; create it with ensureTopic() first`);
    return state;
  }

  private checkOpen(): void {
    if (this.closed) throw new EventLogError('CLOSED', 'the event log is closed');
  }

  async ensureTopic(spec: TopicSpec): Promise<void> {
    this.checkOpen();
    checkTopicName(spec.name);
    if (this.topics.has(spec.name)) return;
    const partitions = spec.partitions ?? 1;
    if (!Number.isInteger(partitions) || partitions < 1) throw new EventLogError('INVALID_ARGUMENT', `topic "${spec.name}": partitions must be a whole number ≥ 1`);
    let creating = this.creating.get(spec.name);
    if (creating === undefined) {
      const meta: TopicMeta = {
        partitions,
        compacted: spec.compacted ?? false,
        maxMessageBytes: spec.maxMessageBytes ?? this.options.defaultMaxMessageBytes ?? 64 * 1024 * 1024,
        ...(spec.retentionMs === undefined ? {} : { retentionMs: spec.retentionMs }),
      };
      creating = (async () => {
        await mkdir(join(this.root, spec.name), { recursive: true });
        await this.openTopic(spec.name, meta);
        if (this.fsync) for (const dir of [this.root, join(this.root, spec.name)]) await syncDir(dir);
        // topic.json last: a topic without it (a crash in between) is created again on the next ensureTopic.
        await writeFileAtomic(join(this.root, spec.name, 'topic.json'), JSON.stringify(meta), true);
      })().finally(() => this.creating.delete(spec.name));
      this.creating.set(spec.name, creating);
    }
    await creating;
  }

  async partitionCount(topic: string): Promise<number> {
    return this.topicState(topic).partitions;
  }

  /** Chooses partitions and checks sizes up front, so a bad record fails its own call only. */
  prepare(topic: string, records: readonly AppendRecord[]): PreparedRecord[] {
    this.checkOpen();
    const state = this.topicState(topic);
    const now = Date.now();
    return records.map((record) => {
      const key = record.key ?? null;
      let partition = record.partition;
      if (partition === undefined) partition = key === null ? this.roundRobin.next(topic, state.partitions) : partitionForKey(key, state.partitions);
      const log = state.logs[partition];
      if (log === undefined) throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" has partitions 0..${state.partitions - 1}, not ${partition}`);
      if (state.compacted && key === null) throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" is compacted: every record needs a key`);
      // A text value stays text: the frame encoder writes it as UTF-8 straight into the frame
      // (a Buffer per value here was a copy of every invocation record).
      const value = record.value;
      const valueBytes = value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
      const size = FRAME_HEADER_BYTES + valueBytes + (key === null ? 0 : Buffer.byteLength(key));
      if (size > state.maxMessageBytes) {
        throw new EventLogError('RECORD_TOO_LARGE', `a ${size}-byte record exceeds topic "${topic}"'s maxMessageBytes (${state.maxMessageBytes}); raise it in ensureTopic or split the record`);
      }
      return { log, key, value, valueBytes, headers: record.headers, timestamp: record.timestamp ?? now };
    });
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    const prepared = this.prepare(topic, records);
    if (prepared.length === 0) return [];
    return this.writer.append(prepared);
  }

  async read(topic: string, partition: number, fromOffset: number, options: ReadOptions = {}): Promise<LogRecord[]> {
    this.checkOpen();
    const log = this.partitionLog(topic, partition);
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const { records, next } = await log.readBatch(fromOffset, maxRecords, maxBytes);
    if (records.length > 0 || !options.maxWaitMs) return records;
    await log.waitForData(next, options.maxWaitMs);
    return log.read(next, maxRecords, maxBytes);
  }

  private partitionLog(topic: string, partition: number): PartitionLog {
    const state = this.topicState(topic);
    const log = state.logs[partition];
    if (log === undefined) throw new EventLogError('INVALID_ARGUMENT', `topic "${topic}" has partitions 0..${state.partitions - 1}, not ${partition}`);
    return log;
  }

  async startOffsets(topic: string): Promise<number[]> {
    return this.topicState(topic).logs.map((log) => log.startOffset);
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.topicState(topic).logs.map((log) => log.endOffset);
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.partitionLog(topic, partition).offsetForTimestamp(timestamp);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    for (const topic of options.topics) if (typeof topic === 'string') this.topicState(topic);
    const subscription = new EmbeddedSubscription(
      {
        logger: this.logger,
        committed: (groupId, topic) => this.groups.committed(groupId, topic),
        group: (groupId) => {
          let group = this.consumerGroups.get(groupId);
          if (group === undefined) this.consumerGroups.set(groupId, (group = new EmbeddedGroup()));
          return group;
        },
        release: (groupId) => {
          if (this.consumerGroups.get(groupId)?.size === 0) this.consumerGroups.delete(groupId);
        },
        matchingPartitions: (topics) =>
          [...this.topics.values()].filter((t) => topics.some((m) => (typeof m === 'string' ? m === t.name : m.test(t.name)))).flatMap((t) => t.logs),
      },
      options,
    );
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    this.subscriptions.add(subscription);
    const close = subscription.close.bind(subscription);
    subscription.close = async () => {
      this.subscriptions.delete(subscription);
      await close();
    };
    return subscription;
  }

  async commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    for (const { topic, partition } of offsets) this.partitionLog(topic, partition);
    await this.groups.commit(groupId, offsets);
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return this.groups.committed(groupId, topic);
  }

  async beginTransaction(transactionalId: string): Promise<LogTransaction> {
    this.checkOpen();
    // Like Kafka's producer fencing: a new transaction with the same id ends the old one.
    this.transactions.get(transactionalId)?.fence();
    const txn: EmbeddedTransaction = new EmbeddedTransaction(this, this.writer, () => {
      if (this.transactions.get(transactionalId) === txn) this.transactions.delete(transactionalId);
    });
    this.transactions.set(transactionalId, txn);
    return txn;
  }

  /** Compacts every partition of a compacted topic now (it also runs by itself when a segment fills). */
  async compact(topic: string): Promise<void> {
    await Promise.all(this.topicState(topic).logs.map((log) => log.compact()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.writer.drain();
    await this.groups.drain();
    for (const topic of this.topics.values()) for (const log of topic.logs) await log.close();
    await this.release();
  }
}
