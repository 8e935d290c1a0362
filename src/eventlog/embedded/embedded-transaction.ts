import type { AppendRecord, LogTransaction, TopicPartitionOffset } from '../event-log.js';
import { EventLogError } from '../event-log-error.js';
import type { LogWriter, PreparedRecord } from './log-writer.js';

interface Preparer {
  prepare(topic: string, records: readonly AppendRecord[]): PreparedRecord[];
}

/**
 * Buffers appends and offset commits in memory; commit() hands them to the writer as one unit
 * (journaled, see txn-journal.ts), so readers never see a record of an open or aborted
 * transaction — the embedded log is always read_committed.
 */
export class EmbeddedTransaction implements LogTransaction {
  private readonly records: PreparedRecord[] = [];
  private readonly offsets: Array<{ groupId: string; offsets: readonly TopicPartitionOffset[] }> = [];
  private state: 'open' | 'committing' | 'done' | 'fenced' = 'open';

  constructor(
    private readonly log: Preparer,
    private readonly writer: LogWriter,
    private readonly onEnd: () => void,
  ) {}

  fence(): void {
    if (this.state === 'open') this.state = 'fenced';
  }

  private checkOpen(): void {
    if (this.state === 'fenced') throw new EventLogError('TRANSACTION_STATE', 'this transaction was fenced: a newer one with the same transactionalId began; abort and start again');
    if (this.state !== 'open') throw new EventLogError('TRANSACTION_STATE', 'the transaction is already committed or aborted; begin a new one');
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<void> {
    this.checkOpen();
    this.records.push(...this.log.prepare(topic, records));
  }

  async commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    this.offsets.push({ groupId, offsets });
  }

  async commit(): Promise<void> {
    this.checkOpen();
    this.state = 'committing';
    try {
      await this.writer.commitTransaction(this.records, mergeByGroup(this.offsets));
    } finally {
      this.state = 'done';
      this.onEnd();
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    this.onEnd();
  }
}

function mergeByGroup(commits: ReadonlyArray<{ groupId: string; offsets: readonly TopicPartitionOffset[] }>): Array<{ groupId: string; offsets: TopicPartitionOffset[] }> {
  const byGroup = new Map<string, TopicPartitionOffset[]>();
  for (const { groupId, offsets } of commits) byGroup.set(groupId, [...(byGroup.get(groupId) ?? []), ...offsets]);
  return [...byGroup].map(([groupId, offsets]) => ({ groupId, offsets }));
}
