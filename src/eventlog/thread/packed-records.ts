import type { AppendRecord, Headers, LogRecord } from '../event-log.js';

/**
 * Records of one partition as they cross a thread boundary. One `bytes` buffer holds, in order,
 * every record's offset (f64), timestamp (f64), value length (i32, -1 for null) and then all the
 * values' bytes; it is transferred, not copied. A message of one buffer and two small arrays costs
 * the sending thread far less than a cloned Buffer and object per record, and the sender is the
 * log's owner, whose time per record the stream threads exist to save.
 */
export interface PackedRecords {
  readonly count: number;
  readonly bytes: ArrayBuffer;
  /** Absent when no record has a key. */
  readonly keys?: ReadonlyArray<string | null>;
  /** Absent when no record has a header. */
  readonly headers?: readonly Headers[];
}

const FIXED_BYTES = 8 + 8 + 4;

export function packRecords(records: readonly LogRecord[]): PackedRecords {
  const count = records.length;
  let valueBytes = 0;
  let keyed = false;
  let headed = false;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    if (record.value !== null) valueBytes += record.value.length;
    if (record.key !== null) keyed = true;
    if (!headed && hasAny(record.headers)) headed = true;
  }
  const start = FIXED_BYTES * count;
  const bytes = new ArrayBuffer(start + valueBytes);
  const offsets = new Float64Array(bytes, 0, count);
  const timestamps = new Float64Array(bytes, 8 * count, count);
  const lengths = new Int32Array(bytes, 16 * count, count);
  const body = new Uint8Array(bytes);
  const keys: Array<string | null> | undefined = keyed ? new Array<string | null>(count) : undefined;
  const headers: Headers[] | undefined = headed ? new Array<Headers>(count) : undefined;
  let at = start;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    offsets[i] = record.offset;
    timestamps[i] = record.timestamp;
    const value = record.value;
    if (value === null) {
      lengths[i] = -1;
    } else {
      lengths[i] = value.length;
      body.set(value, at);
      at += value.length;
    }
    if (keys !== undefined) keys[i] = record.key;
    if (headers !== undefined) headers[i] = record.headers;
  }
  return { count, bytes, ...(keys === undefined ? {} : { keys }), ...(headers === undefined ? {} : { headers }) };
}

/** The records again, each value a Buffer view into the one transferred buffer (no copy). */
export function unpackRecords(topic: string, partition: number, packed: PackedRecords): LogRecord[] {
  const { count, bytes, keys, headers } = packed;
  const offsets = new Float64Array(bytes, 0, count);
  const timestamps = new Float64Array(bytes, 8 * count, count);
  const lengths = new Int32Array(bytes, 16 * count, count);
  const records = new Array<LogRecord>(count);
  let at = FIXED_BYTES * count;
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    let value: Buffer | null = null;
    if (length >= 0) {
      value = Buffer.from(bytes, at, length);
      at += length;
    }
    records[i] = {
      topic,
      partition,
      offset: offsets[i]!,
      timestamp: timestamps[i]!,
      key: keys === undefined ? null : keys[i]!,
      value,
      // A fresh object per record, as the adapters give: a caller may add to it.
      headers: headers === undefined ? {} : headers[i]!,
    };
  }
  return records;
}

/**
 * Records to append, by column. Text values stay strings (a structured clone copies them cheaply);
 * byte values are copied into one transferred buffer and travel as views of it, because a cloned
 * Buffer takes its whole backing store along (a pooled 8 KiB slab for a 20-byte Buffer).
 */
export interface PackedAppend {
  readonly values: ReadonlyArray<string | Uint8Array | null>;
  readonly keys?: ReadonlyArray<string | null>;
  readonly headers?: ReadonlyArray<Headers | null>;
  readonly partitions?: ReadonlyArray<number | null>;
  readonly timestamps?: ReadonlyArray<number | null>;
}

export function packAppend(records: readonly AppendRecord[]): { packed: PackedAppend; transfer: ArrayBuffer[] } {
  const count = records.length;
  let byteTotal = 0;
  let binary = false;
  let keyed = false;
  let headed = false;
  let placed = false;
  let timed = false;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const value = record.value;
    if (value !== null && typeof value !== 'string') {
      binary = true;
      byteTotal += value.byteLength;
    }
    if (record.key !== undefined && record.key !== null) keyed = true;
    if (record.headers !== undefined && hasAny(record.headers)) headed = true;
    if (record.partition !== undefined) placed = true;
    if (record.timestamp !== undefined) timed = true;
  }
  const bytes = binary ? new ArrayBuffer(byteTotal) : undefined;
  const values = new Array<string | Uint8Array | null>(count);
  const keys = keyed ? new Array<string | null>(count) : undefined;
  const headers = headed ? new Array<Headers | null>(count) : undefined;
  const partitions = placed ? new Array<number | null>(count) : undefined;
  const timestamps = timed ? new Array<number | null>(count) : undefined;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const value = record.value;
    if (value === null || typeof value === 'string') {
      values[i] = value;
    } else {
      const view = new Uint8Array(bytes!, at, value.byteLength);
      view.set(value);
      values[i] = view;
      at += value.byteLength;
    }
    if (keys !== undefined) keys[i] = record.key ?? null;
    if (headers !== undefined) headers[i] = record.headers ?? null;
    if (partitions !== undefined) partitions[i] = record.partition ?? null;
    if (timestamps !== undefined) timestamps[i] = record.timestamp ?? null;
  }
  const packed: PackedAppend = {
    values,
    ...(keys === undefined ? {} : { keys }),
    ...(headers === undefined ? {} : { headers }),
    ...(partitions === undefined ? {} : { partitions }),
    ...(timestamps === undefined ? {} : { timestamps }),
  };
  return { packed, transfer: bytes === undefined ? [] : [bytes] };
}

/** AppendRecords again; byte values become Buffers (a structured clone delivers plain Uint8Arrays). */
export function unpackAppend(packed: PackedAppend): AppendRecord[] {
  const { values, keys, headers, partitions, timestamps } = packed;
  const records = new Array<AppendRecord>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    records[i] = {
      key: keys === undefined ? null : keys[i]!,
      value: value === null || typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      headers: headers?.[i] ?? undefined,
      partition: partitions?.[i] ?? undefined,
      timestamp: timestamps?.[i] ?? undefined,
    };
  }
  return records;
}

function hasAny(headers: Headers): boolean {
  for (const name in headers) if (Object.hasOwn(headers, name)) return true;
  return false;
}
