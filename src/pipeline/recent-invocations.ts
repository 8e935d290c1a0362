import type { EventLog } from '../eventlog/index.js';
import type { InvocationRecord } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';

/**
 * A bounded in-memory index of the newest invocation records per function, fed by the
 * invocations sink (and seeded from the tail of `aerofn.invocations` at start), for
 * `GET /functions/v1/{name}/invocations`. Bounded twice: records per function and functions.
 */
export class RecentInvocations {
  private readonly byFunction = new Map<string, InvocationRecord[]>();

  constructor(private readonly perFunction = 200, private readonly maxFunctions = 10_000) {}

  add(record: InvocationRecord): void {
    let ring = this.byFunction.get(record.function);
    if (ring === undefined) {
      if (this.byFunction.size >= this.maxFunctions) {
        const oldest = this.byFunction.keys().next().value;
        if (oldest !== undefined) this.byFunction.delete(oldest);
      }
      ring = [];
      this.byFunction.set(record.function, ring);
    }
    ring.push(record);
    if (ring.length > this.perFunction * 2) ring.splice(0, ring.length - this.perFunction);
  }

  /** Newest first: by start time, then attempt, so retries of one id list the last one first. */
  list(functionName: string, limit = 20): InvocationRecord[] {
    const ring = this.byFunction.get(functionName) ?? [];
    // Reversed first: the sort is stable, so ties keep the later-recorded record in front.
    const sorted = [...ring].reverse().sort((a, b) => (a.startedAt === b.startedAt ? b.attempt - a.attempt : a.startedAt < b.startedAt ? 1 : -1));
    return sorted.slice(0, Math.max(0, Math.min(limit, this.perFunction)));
  }
}

/** Fills the recent-invocations index from the tail of the invocations topic (last 1000 per partition). */
export async function seedRecent(log: EventLog, topic: string, recent: RecentInvocations, logger: Logger): Promise<void> {
  try {
    const [starts, ends] = await Promise.all([log.startOffsets(topic), log.endOffsets(topic)]);
    for (const [partition, end] of ends.entries()) {
      const from = Math.max(starts[partition] ?? 0, end - 1000);
      for (let offset = from; offset < end; ) {
        const records = await log.read(topic, partition, offset, { maxRecords: 500 });
        if (records.length === 0) break;
        for (const record of records) if (record.value !== null) recent.add(JSON.parse(record.value.toString('utf8')) as InvocationRecord);
        offset = (records[records.length - 1]?.offset ?? offset) + 1;
      }
    }
  } catch (error) {
    logger.warn({ err: error, topic }, 'could not read recent invocation records back; the list starts empty');
  }
}
