import { hash } from 'node:crypto';
import type { EventLog, LogRecord } from '../eventlog/index.js';

/**
 * One record of `aerofn.schedule` (key = jobId). `run` claims a due time and is appended BEFORE
 * the invocation; `skipped` accounts for due times not run (missed while no leader ran, or over
 * the catch-up bound); `overlap` for a due time that came while the previous run still ran.
 * Times are ISO 8601 UTC strings, like `deployedAt` and the schedule payload.
 */
export type TickKind = 'run' | 'skipped' | 'overlap';

export interface TickRecord {
  readonly kind: TickKind;
  readonly jobId: string;
  readonly function: string;
  readonly version: number;
  /** The due time this record accounts for (for `skipped`: the latest one of the range). */
  readonly scheduledAt: string;
  readonly firedAt: string;
  /** Stable per (jobId, scheduledAt); null for skipped and overlap records. */
  readonly invocationId: string | null;
  readonly instance: string;
  /** `skipped` only: how many due times, the first and last of them, and whether the count is a lower bound. */
  readonly count?: number;
  readonly countCapped?: boolean;
  readonly from?: string;
}

export const ticksTopicName = (prefix = ''): string => `${prefix}aerofn.schedule`;

/**
 * The invocation id of (jobId, scheduledAt): a name-based UUID (RFC 9562 v8 layout), so a function
 * can use it as an idempotency key, and a record in `aerofn.invocations` names its tick.
 */
export function scheduleInvocationId(jobId: string, scheduledAtMs: number): string {
  const hex = hash('sha256', `schedule\u0000${jobId}\u0000${scheduledAtMs}`, 'hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function decodeTick(record: LogRecord): TickRecord | undefined {
  if (record.value === null) return undefined;
  try {
    const tick = JSON.parse(record.value.toString('utf8')) as TickRecord;
    if (typeof tick.jobId !== 'string' || typeof tick.scheduledAt !== 'string' || !['run', 'skipped', 'overlap'].includes(tick.kind)) return undefined;
    return tick;
  } catch {
    return undefined;
  }
}

/**
 * The fold of the ticks topic that every instance computes the same way: a record counts only if
 * its due time is later than the job's last counted one, in log order. Two instances that both
 * believe they lead (a rebalance in flight) may both append a claim for one due time; the first in
 * the one-partition log wins and only its writer runs it. So the lease saves work, and this fold
 * is what makes "one run per (job, due time)" hold.
 */
export class TickLedger {
  /** The next offset to fold. */
  position = 0;
  private readonly last = new Map<string, number>();

  constructor(
    private readonly log: EventLog,
    readonly topic: string,
  ) {}

  lastScheduledAt(jobId: string): number | undefined {
    return this.last.get(jobId);
  }

  /** Folds one record; returns whether it counted. */
  apply(record: LogRecord): boolean {
    this.position = record.offset + 1;
    const tick = decodeTick(record);
    if (tick === undefined) return false;
    const at = Date.parse(tick.scheduledAt);
    if (!Number.isFinite(at)) return false;
    const known = this.last.get(tick.jobId);
    if (known !== undefined && at <= known) return false;
    this.last.set(tick.jobId, at);
    return true;
  }

  /**
   * Reads and folds from `position` up to `until` (exclusive; default: the end offset now).
   * `onRecord` sees each record with whether it counted.
   */
  async catchUp(until?: number, onRecord?: (record: LogRecord, counted: boolean) => void): Promise<void> {
    const end = until ?? (await this.log.endOffsets(this.topic))[0] ?? 0;
    let empty = 0;
    while (this.position < end) {
      const records = await this.log.read(this.topic, 0, this.position, { maxRecords: 5000, maxWaitMs: 200 });
      if (records.length === 0) {
        // Our own appended records must arrive; anything else below `end` may be markers only.
        if (until !== undefined && ++empty < 50) continue;
        if (until !== undefined) throw new Error(`the ticks topic ${this.topic} did not return offsets ${this.position}..${end - 1} within 10 s`);
        this.position = end;
        return;
      }
      for (const record of records) {
        const counted = this.apply(record);
        onRecord?.(record, counted);
      }
    }
  }
}
