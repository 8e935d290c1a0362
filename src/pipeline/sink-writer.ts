import type { AppendRecord, EventLog, TopicPartitionOffset } from '../eventlog/index.js';
import type { DeliveryMode } from '../config/index.js';
import { invocationRecordJson, type InvocationRecord } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionMetricsSnapshot } from './function-metrics.js';
import type { StageStats } from './stage-stats.js';
import type { Completion } from './types.js';
import type { CommitWatermarks } from './watermark.js';

export interface SinkTopics {
  readonly invocations: string;
  readonly metrics: string;
  readonly dlq: string;
}

export interface SinkWriterOptions {
  readonly log: EventLog;
  readonly topics: SinkTopics;
  readonly mode: DeliveryMode;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly watermarks: CommitWatermarks;
  readonly logger: Logger;
  readonly stats: { readonly invocations: StageStats; readonly metrics: StageStats; readonly dlq: StageStats; readonly commit: StageStats };
}

export interface FlushBatch {
  readonly completions: readonly Completion[];
  readonly metrics: readonly FunctionMetricsSnapshot[];
}

const json = (value: unknown): string => JSON.stringify(value);

/** The header of an `aerofn.invocations` record that holds its invocation id (readers find runs by it). */
export const INVOCATION_ID_HEADER = 'aerofn-invocation-id';

/** An invocation record as `aerofn.invocations` holds it: keyed by function, with its id in a header. */
export function invocationAppendRecord(record: InvocationRecord): AppendRecord {
  return { key: record.function, value: invocationRecordJson(record), headers: { 'aerofn-function': record.function, [INVOCATION_ID_HEADER]: record.id } };
}

/** Finished records move the watermark; abandoned ones (shutdown) hold it so they are redelivered. */
function completeWatermarks(watermarks: CommitWatermarks, completions: readonly Completion[]): void {
  for (const { record, abandoned } of completions) if (abandoned !== true) watermarks.complete(record.topic, record.partition, record.offset);
}

/**
 * Writes what a batch of completed records caused, then commits the source offsets the
 * watermark allows. at_least_once: outputs are appended first and offsets committed after, so a
 * crash in between redelivers (and re-records) rather than loses. exactly_once: outputs and
 * offsets go in one log transaction, so read_committed readers see both or neither.
 */
export class SinkWriter {
  /**
   * exactly_once: completions whose source offset is not inside the committable prefix yet (an
   * earlier offset of their partition is still running). Their outputs wait for the transaction
   * that commits their offset: written earlier, a crash before that commit would redeliver the
   * event and record it twice.
   */
  private held: readonly Completion[] = [];

  constructor(private readonly options: SinkWriterOptions) {}

  async flush(batch: FlushBatch): Promise<TopicPartitionOffset[]> {
    const { topics, stats, watermarks } = this.options;
    const transactional = this.options.mode === 'exactly_once';
    let completions = batch.completions;
    const held: Completion[] = [];
    if (transactional) {
      // Marking before the commit is safe: if the transaction fails the pipeline stops (see
      // pipeline.ts), so no later commit can carry these offsets without their outputs.
      completeWatermarks(watermarks, batch.completions);
      const ready: Completion[] = [];
      for (const completion of this.held.length === 0 ? batch.completions : [...this.held, ...batch.completions]) {
        const { topic, partition, offset } = completion.record;
        // Abandoned work (shutdown) is recorded at once and never committed: it is redelivered.
        (completion.abandoned === true || watermarks.isCommittable(topic, partition, offset) ? ready : held).push(completion);
      }
      completions = ready;
    }
    const invocations: AppendRecord[] = [];
    const deadLetters: AppendRecord[] = [];
    for (const completion of completions) {
      for (const record of completion.invocations) {
        invocations.push(invocationAppendRecord(record));
      }
      for (const letter of completion.deadLetters) {
        deadLetters.push({ key: letter.function?.name ?? letter.original.key, value: json(letter), headers: { 'aerofn-dlq-stage': letter.stage } });
      }
    }
    const metrics: AppendRecord[] = batch.metrics.map((snapshot) => ({ key: snapshot.function, value: json(snapshot) }));
    const started = performance.now();
    const writes: Array<[string, AppendRecord[], StageStats]> = [
      [topics.invocations, invocations, stats.invocations],
      [topics.dlq, deadLetters, stats.dlq],
      [topics.metrics, metrics, stats.metrics],
    ];
    for (const [, records, stage] of writes) {
      stage.in += records.length;
      stage.inFlight += records.length;
    }
    try {
      if (transactional) {
        const committed = await this.flushTransactional(writes);
        this.held = held;
        return committed;
      }
      await Promise.all(writes.filter(([, records]) => records.length > 0).map(([topic, records]) => this.options.log.append(topic, records)));
      this.settleWrites(writes, started);
      completeWatermarks(watermarks, batch.completions);
      return await this.commit();
    } catch (error) {
      for (const [, records, stage] of writes) {
        stage.inFlight -= records.length;
        stage.errors += records.length > 0 ? 1 : 0;
      }
      throw error;
    }
  }

  private async flushTransactional(writes: Array<[string, AppendRecord[], StageStats]>): Promise<TopicPartitionOffset[]> {
    const { log, watermarks, groupId, transactionalId, stats } = this.options;
    const started = performance.now();
    const offsets = watermarks.pending();
    if (offsets.length === 0 && writes.every(([, records]) => records.length === 0)) return [];
    const transaction = await log.beginTransaction(transactionalId);
    try {
      for (const [topic, records] of writes) if (records.length > 0) await transaction.append(topic, records);
      if (offsets.length > 0) await transaction.commitOffsets(groupId, offsets);
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    this.settleWrites(writes, started);
    watermarks.markCommitted(offsets);
    stats.commit.in += offsets.length;
    stats.commit.out += offsets.length;
    stats.commit.observe(performance.now() - started);
    return offsets;
  }

  private settleWrites(writes: Array<[string, AppendRecord[], StageStats]>, started: number): void {
    const elapsed = performance.now() - started;
    for (const [, records, stage] of writes) {
      stage.inFlight -= records.length;
      stage.out += records.length;
      if (records.length > 0) stage.observe(elapsed);
    }
  }

  /** Commits whatever the watermarks allow (at_least_once). A failed commit is retried by the next flush. */
  async commit(): Promise<TopicPartitionOffset[]> {
    const { log, watermarks, groupId, stats, logger } = this.options;
    const offsets = watermarks.pending();
    if (offsets.length === 0) return [];
    const started = performance.now();
    stats.commit.in += offsets.length;
    try {
      await log.commitOffsets(groupId, offsets);
    } catch (error) {
      stats.commit.errors += 1;
      logger.warn({ err: error, offsets }, 'committing source offsets failed; the next flush retries');
      return [];
    }
    watermarks.markCommitted(offsets);
    stats.commit.out += offsets.length;
    stats.commit.observe(performance.now() - started);
    return offsets;
  }
}
