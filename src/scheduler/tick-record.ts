import { hash } from 'node:crypto';
import type { EventLog, LogRecord } from '../eventlog/index.js';

/**
 * One record of `aerofn.schedule` (key = jobId). `run` claims a due time and is appended BEFORE
 * the invocation; `skipped` accounts for due times not run (missed while no leader ran, or over
 * the catch-up bound); `overlap` for a due time that came while the previous run still ran.
 * Times are ISO 8601 UTC strings, like `deployedAt` and the schedule payload.
 */
export type TickKind = 'run' | 'skipped' | 'overlap' | 'checkpoint';

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
  /** `checkpoint` only (jobId "*"): the last due time of every job the leader knew, so a new leader need not read older ticks. */
  readonly last?: Readonly<Record<string, string>>;
}

export const checkpointJobId = '*';

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
    if (typeof tick.jobId !== 'string' || typeof tick.scheduledAt !== 'string' || !['run', 'skipped', 'overlap', 'checkpoint'].includes(tick.kind)) return undefined;
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

  /** The last due time of every job seen, for a checkpoint record. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.last].map(([jobId, at]) => [jobId, new Date(at).toISOString()]));
  }

  reset(): void {
    this.position = 0;
    this.last.clear();
  }

  /**
   * Builds the state for a new leader without reading the whole topic: from `windowStartMs` on,
   * which is enough when a checkpoint at least `marginMs` after the window start is found (its
   * writer's state covered everything older). Else reads from the topic's first retained offset.
   * A job's state is the max of its due times, so folding a record twice or a claim that lost
   * changes nothing.
   */
  async bootstrap(windowStartMs: number, marginMs: number): Promise<'window' | 'full'> {
    this.reset();
    this.position = await this.log.offsetForTimestamp(this.topic, 0, windowStartMs);
    let complete = false;
    await this.catchUp(undefined, (record) => {
      if (record.key === checkpointJobId && record.timestamp >= windowStartMs + marginMs) complete = true;
    });
    if (complete) return 'window';
    this.reset();
    this.position = (await this.log.startOffsets(this.topic))[0] ?? 0;
    await this.catchUp();
    return 'full';
  }

  /** Folds one record; returns whether it counted. */
  apply(record: LogRecord): boolean {
    this.position = record.offset + 1;
    const tick = decodeTick(record);
    if (tick === undefined) return false;
    if (tick.kind === 'checkpoint') {
      for (const [jobId, iso] of Object.entries(tick.last ?? {})) {
        const at = Date.parse(iso);
        if (Number.isFinite(at) && at > (this.last.get(jobId) ?? Number.NEGATIVE_INFINITY)) this.last.set(jobId, at);
      }
      return false;
    }
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
