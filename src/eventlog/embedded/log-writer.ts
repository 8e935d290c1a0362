import type { Logger } from 'pino';
import type { AppendRecord, AppendResult, TopicPartitionOffset } from '../event-log.js';
import { EventLogError } from '../event-log-error.js';
import type { EncodedFrame, PartitionLog, StagedWrite } from './partition-log.js';
import type { GroupOffsets } from './group-offsets.js';
import { encodeFrameInto, frameSize } from './record-format.js';
import { clearJournal, writeJournal } from './txn-journal.js';

/** A record with its partition chosen and its value as bytes, checked, waiting for an offset. */
export interface PreparedRecord {
  readonly log: PartitionLog;
  readonly key: string | null;
  /** Bytes, or text the frame encoder writes as UTF-8. */
  readonly value: Buffer | string | null;
  /** The value's length in bytes (UTF-8 for text). */
  readonly valueBytes: number;
  readonly headers: AppendRecord['headers'];
  readonly timestamp: number;
}

interface AppendOp {
  readonly kind: 'append';
  readonly records: readonly PreparedRecord[];
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

interface TxnOp {
  readonly kind: 'txn';
  readonly records: readonly PreparedRecord[];
  readonly offsets: ReadonlyArray<{ groupId: string; offsets: readonly TopicPartitionOffset[] }>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type WriteOp = AppendOp | TxnOp;

export interface WriterOptions {
  readonly fsync: boolean;
  readonly segmentBytes: number;
  readonly txnDir: string;
  readonly groups: GroupOffsets;
  readonly logger: Logger;
}

/**
 * The single writer of the log, with group commit: appends that arrive while a flush is running
 * are written together by the next flush — one write per partition and one fsync per file for the
 * whole group — and each append resolves only after its flush is durable (fsync policy on). So
 * throughput grows with concurrency while every acknowledged record is on disk.
 */
export class LogWriter {
  private queue: WriteOp[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly options: WriterOptions) {}

  append(records: readonly PreparedRecord[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'append', records, resolve, reject }));
  }

  commitTransaction(records: readonly PreparedRecord[], offsets: TxnOp['offsets']): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'txn', records, offsets, resolve, reject }));
  }

  /** Resolves when every queued write has been flushed. */
  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private enqueue(op: WriteOp): void {
    this.queue.push(op);
    // setImmediate, not a microtask: appends issued in the same tick join one flush.
    this.running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const ops = this.queue;
      this.queue = [];
      let appends: AppendOp[] = [];
      for (const op of ops) {
        if (op.kind === 'append') {
          appends.push(op);
          continue;
        }
        if (appends.length > 0) await this.flushAppends(appends);
        appends = [];
        await this.flushTransaction(op);
      }
      if (appends.length > 0) await this.flushAppends(appends);
    }
    this.running = null;
  }

  /**
   * Assigns offsets from each partition's end and encodes frames, grouped by partition: the frames
   * of one partition go into one buffer (views of it), so staging writes it without a copy.
   */
  private assign(batches: ReadonlyArray<readonly PreparedRecord[]>, next: Map<PartitionLog, EncodedFrame[]>): AppendResult[][] {
    const sizes: number[][] = [];
    const bytes = new Map<PartitionLog, number>();
    for (const records of batches) {
      const batchSizes: number[] = [];
      for (const record of records) {
        const size = frameSize({ offset: 0, timestamp: record.timestamp, key: record.key, value: record.value, valueBytes: record.valueBytes, headers: record.headers });
        batchSizes.push(size);
        bytes.set(record.log, (bytes.get(record.log) ?? 0) + size);
      }
      sizes.push(batchSizes);
    }
    const arenas = new Map<PartitionLog, { readonly buf: Buffer; at: number }>();
    for (const [log, total] of bytes) arenas.set(log, { buf: Buffer.allocUnsafeSlow(total), at: 0 });
    return batches.map((records, b) =>
      records.map((record, i) => {
        let frames = next.get(record.log);
        if (frames === undefined) next.set(record.log, (frames = []));
        const arena = arenas.get(record.log)!;
        const offset = record.log.endOffset + frames.length;
        const at = arena.at;
        arena.at += encodeFrameInto(arena.buf, at, { offset, timestamp: record.timestamp, key: record.key, value: record.value, valueBytes: record.valueBytes, headers: record.headers });
        if (arena.at - at !== sizes[b]![i]) throw new EventLogError('BACKEND', 'a record encoded to another size than measured; nothing was written (report this: it is a bug)');
        frames.push({ buf: arena.buf.subarray(at, arena.at), offset, timestamp: record.timestamp, key: record.key });
        return { partition: record.log.partition, offset };
      }),
    );
  }

  private async writeAll(byPartition: Map<PartitionLog, EncodedFrame[]>): Promise<Array<[PartitionLog, StagedWrite]>> {
    const settled = await Promise.allSettled([...byPartition].map(async ([log, frames]) => [log, await log.stage(frames, this.options.segmentBytes)] as [PartitionLog, StagedWrite]));
    const staged = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    try {
      if (failed !== undefined) throw failed.reason;
      if (this.options.fsync) await Promise.all(staged.map(([log, write]) => log.sync(write)));
      return staged;
    } catch (error) {
      await Promise.all(staged.map(([log, write]) => log.unstage(write).catch(() => undefined)));
      throw new EventLogError('BACKEND', `writing the event log failed (${(error as Error).message}); check free disk space and permissions of the data dir`, { cause: error });
    }
  }

  private async flushAppends(ops: readonly AppendOp[]): Promise<void> {
    const byPartition = new Map<PartitionLog, EncodedFrame[]>();
    let results: AppendResult[][];
    let staged: Array<[PartitionLog, StagedWrite]>;
    try {
      results = this.assign(ops.map((op) => op.records), byPartition);
      staged = await this.writeAll(byPartition);
    } catch (error) {
      for (const op of ops) op.reject(error);
      return;
    }
    for (const [log, write] of staged) log.publish(write);
    ops.forEach((op, i) => op.resolve(results[i]!));
  }

  private async flushTransaction(op: TxnOp): Promise<void> {
    const { txnDir, fsync, groups } = this.options;
    const byPartition = new Map<PartitionLog, EncodedFrame[]>();
    try {
      this.assign([op.records], byPartition);
    } catch (error) {
      op.reject(error);
      return;
    }
    let gateOpen: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (gateOpen = resolve));
    let staged: Array<[PartitionLog, StagedWrite]> = [];
    let published = false;
    try {
      await writeJournal(txnDir, { appends: [...byPartition].map(([log, frames]) => ({ topic: log.topic, partition: log.partition, frames })), offsets: op.offsets }, fsync);
      staged = await this.writeAll(byPartition);
      // Each group's commit chain is held from its durable write until the publish below.
      const held = op.offsets.map(({ groupId, offsets }) => {
        let persisted: (state: ReturnType<GroupOffsets['merged']>) => void = () => undefined;
        let failed: (error: unknown) => void = () => undefined;
        const ready = new Promise<ReturnType<GroupOffsets['merged']>>((resolve, reject) => ((persisted = resolve), (failed = reject)));
        void groups
          .exclusive(groupId, async () => {
            const state = groups.merged(groupId, offsets);
            await groups.persist(groupId, state);
            persisted(state);
            await gate;
          })
          .catch(failed);
        return { groupId, ready };
      });
      const states = await Promise.all(held.map(async (h) => ({ groupId: h.groupId, state: await h.ready })));
      // One synchronous step: readers see all of the transaction's records and offsets, or none.
      for (const [log, write] of staged) log.publish(write);
      for (const { groupId, state } of states) groups.publish(groupId, state);
      published = true;
      gateOpen();
      await clearJournal(txnDir, fsync);
      op.resolve();
    } catch (error) {
      gateOpen();
      if (published) {
        // Applied and visible; only removing the journal failed. The next open re-applies it, which is idempotent.
        this.options.logger.warn({ err: error }, 'a committed transaction left its journal behind');
        op.resolve();
        return;
      }
      await Promise.all(staged.map(([log, write]) => log.unstage(write).catch(() => undefined)));
      await clearJournal(txnDir, fsync).catch(() => undefined);
      this.options.logger.error({ err: error }, 'a transaction failed to commit and was rolled back');
      op.reject(error);
    }
  }
}
