import type { AppendRecord, EventLog } from '../eventlog/index.js';
import type { Logger } from '../observability/index.js';
import { INVOCATION_ID_HEADER } from './sink-writer.js';

/**
 * Appends records to one topic in batches, fire and forget: at most one append is in flight, and
 * whatever arrives meanwhile goes out together in the next one (group commit on our side, so
 * the log's per-append cost — a produce request, or a frame write plus fsync — is paid per batch,
 * not per record). Records are written in the order they were added. A failed append is logged
 * with the invocation ids it carried; the records are not retried (the invocation already
 * answered its caller, and the topic is an audit trail, not the source of truth).
 *
 * While the log does not take appends (a broker outage: each failing append takes the client's
 * retries, seconds), the API keeps answering and records pile up here. Past `maxPending` new
 * ones are dropped and counted, with a warning at most every WARN_EVERY_MS, so an outage costs
 * part of the audit trail instead of the whole process running out of memory.
 */
const WARN_EVERY_MS = 10_000;

export class NotedRecords {
  private pending: AppendRecord[] = [];
  private writing: Promise<void> | null = null;
  private droppedCount = 0;
  private droppedAtWarning = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly log: Pick<EventLog, 'append'>,
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly maxBatch = 1000,
    private readonly maxPending = 100_000,
  ) {}

  /** Records dropped because `maxPending` were waiting (since the start). */
  get dropped(): number {
    return this.droppedCount;
  }

  add(record: AppendRecord): void {
    if (this.pending.length >= this.maxPending) {
      this.droppedCount++;
      this.warnDropped();
      return;
    }
    this.pending.push(record);
    // Start on the next turn of the event loop: the invocations that finish in this one share it.
    if (this.writing === null) this.writing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeAll());
  }

  /** Resolves when every record added so far is appended (or its append failed and was logged). */
  async drain(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.length <= this.maxBatch ? this.pending : this.pending.slice(0, this.maxBatch);
      this.pending = batch === this.pending ? [] : this.pending.slice(this.maxBatch);
      try {
        await this.log.append(this.topic, batch);
      } catch (error) {
        const invocationIds = batch.map((record) => record.headers?.[INVOCATION_ID_HEADER]);
        this.logger.warn({ err: error, records: batch.length, invocationIds }, 'could not append invocation records to the invocations topic');
      }
    }
    this.writing = null;
  }

  private warnDropped(): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger.warn(
      { topic: this.topic, droppedSinceLastWarning: this.droppedCount - this.droppedAtWarning, droppedTotal: this.droppedCount, waiting: this.pending.length },
      'invocation records are being dropped: the invocations topic has not taken appends fast enough and the records waiting for it reached the cap; check the event log (broker reachable, disk not full)',
    );
    this.droppedAtWarning = this.droppedCount;
  }
}
