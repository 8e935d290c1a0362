import type { EventLog, LogRecord } from './event-log.js';

export interface ReadToEndOptions {
  readonly maxRecords?: number;
  readonly maxBytes?: number;
}

/**
 * Reads one partition from `from` up to the end offset it had when called (a registry replay), in
 * order. Returns the offset to continue from. Stops early only if the log has nothing more to give
 * below that end (Kafka's transaction markers take offsets but are no records).
 */
export async function readToEnd(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  onRecords: (records: readonly LogRecord[]) => void | Promise<void>,
  options: ReadToEndOptions = {},
): Promise<number> {
  const end = (await log.endOffsets(topic))[partition] ?? 0;
  let position = from;
  while (position < end) {
    const records = await log.read(topic, partition, position, { ...options, maxWaitMs: 200 });
    if (records.length === 0) return end;
    await onRecords(records);
    position = records[records.length - 1]!.offset + 1;
  }
  return Math.max(position, from);
}

export interface TailOptions extends ReadToEndOptions {
  readonly signal: AbortSignal;
  /** How long one read waits at the end of the partition before asking again. Default 500 ms. */
  readonly maxWaitMs?: number;
}

/**
 * Follows one partition from `from`: calls `onRecords` for every batch, in order, waiting for the
 * next one, until `signal` aborts. A throwing `onRecords` ends the tail with that error (the caller
 * decides whether to restart from the last offset it applied).
 */
export async function tail(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  onRecords: (records: readonly LogRecord[]) => void | Promise<void>,
  options: TailOptions,
): Promise<void> {
  let position = from;
  while (!options.signal.aborted) {
    const records = await log.read(topic, partition, position, { maxRecords: options.maxRecords, maxBytes: options.maxBytes, maxWaitMs: options.maxWaitMs ?? 500 });
    if (options.signal.aborted) return;
    if (records.length === 0) continue;
    await onRecords(records);
    position = records[records.length - 1]!.offset + 1;
  }
}
