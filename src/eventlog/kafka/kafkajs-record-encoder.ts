import { encoderOf, replaceKafkajsModule, type EncoderLike } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 encodes each produced record through its general-purpose Encoder: a zero-filled
 * 512-byte buffer per record and per header, regrown (zero-filled again, copied) for a value over
 * 512 bytes, a `Buffer.from([...])` per varint and a chain of 64-bit Long objects for the
 * timestamp delta. For the stream processor's ~1-2 KB invocation records that was the largest item
 * of the main thread's Kafka profile (~15 µs per record). This encoder writes the same bytes
 * (Kafka's v2 record: length, attributes, timestamp delta, offset delta, key, value, headers — all
 * varints zig-zag LEB128) into one buffer of the exact size, and is put into the CommonJS module
 * cache before kafkajs loads its record-batch encoder (kafkajs-modules.ts). Anything out
 * of the ordinary (a non-integer or huge timestamp delta, a value that is neither string nor
 * Buffer) goes to kafkajs' own encoder, so the output is always what kafkajs would have written;
 * a unit test compares the two byte for byte, and the broker checks every batch's CRC.
 */
interface RecordInput {
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Record<string, unknown>;
}
type RecordEncoder = (input: RecordInput) => EncoderLike;


/** Lengths and deltas this encoder handles itself (zig-zag of them stays a positive int32). */
const MAX_SMALL = 2 ** 28;
const MAX_LONG = 2 ** 52;

const zigZag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);

function varIntSize(value: number): number {
  let unsigned = zigZag(value);
  let bytes = 1;
  while (unsigned >= 0x80) {
    unsigned = Math.floor(unsigned / 0x80);
    bytes++;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, at: number, value: number): number {
  let unsigned = zigZag(value);
  while (unsigned >= 0x80) {
    buf[at++] = (unsigned % 0x80) | 0x80;
    unsigned = Math.floor(unsigned / 0x80);
  }
  buf[at++] = unsigned;
  return at;
}

/** Byte length of a string or Buffer field, -1 for null; undefined when it is anything else. */
function fieldLength(value: unknown): number | undefined {
  if (value === null || value === undefined) return -1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Buffer.isBuffer(value)) return value.length;
  return undefined;
}

function writeField(buf: Buffer, at: number, value: unknown, length: number): number {
  at = writeVarInt(buf, at, length);
  if (length <= 0) return at;
  if (typeof value === 'string') buf.write(value, at, length, 'utf8');
  else (value as Buffer).copy(buf, at);
  return at + length;
}

/** The record's headers flattened as kafkajs does (an array value is one header per element). */
function flatHeaders(headers: Record<string, unknown>): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) for (const item of value) out.push([key, item]);
    else out.push([key, value]);
  }
  return out;
}

export function encodeRecord(input: RecordInput): EncoderLike {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = input;
  if (!Number.isSafeInteger(timestampDelta) || Math.abs(timestampDelta) >= MAX_LONG) return kafkajsRecordEncoder(input);
  if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta >= MAX_SMALL) return kafkajsRecordEncoder(input);
  const keyLength = fieldLength(key);
  const valueLength = fieldLength(value);
  const list = flatHeaders(headers);
  if (keyLength === undefined || valueLength === undefined || keyLength >= MAX_SMALL || valueLength >= MAX_SMALL) return kafkajsRecordEncoder(input);
  const headerLengths: number[] = [];
  let body = 1 + varIntSize(timestampDelta) + varIntSize(offsetDelta) + varIntSize(keyLength) + Math.max(0, keyLength) + varIntSize(valueLength) + Math.max(0, valueLength);
  body += varIntSize(list.length);
  for (const [name, headerValue] of list) {
    // kafkajs measures a header value with Buffer.byteLength, which refuses null: leave those to it.
    const nameLength = Buffer.byteLength(name, 'utf8');
    const length = headerValue === null || headerValue === undefined ? undefined : fieldLength(headerValue);
    if (length === undefined || length >= MAX_SMALL || nameLength >= MAX_SMALL) return kafkajsRecordEncoder(input);
    headerLengths.push(nameLength, length);
    body += varIntSize(nameLength) + nameLength + varIntSize(length) + length;
  }
  const size = varIntSize(body) + body;
  const buf = Buffer.allocUnsafe(size);
  let at = writeVarInt(buf, 0, body);
  buf[at++] = 0; // attributes: none are used in a v2 record
  at = writeVarInt(buf, at, timestampDelta);
  at = writeVarInt(buf, at, offsetDelta);
  at = writeField(buf, at, key, keyLength);
  at = writeField(buf, at, value, valueLength);
  at = writeVarInt(buf, at, list.length);
  for (let i = 0; i < list.length; i++) {
    const [name, headerValue] = list[i] as [string, unknown];
    at = writeField(buf, at, name, headerLengths[2 * i] as number);
    at = writeField(buf, at, headerValue, headerLengths[2 * i + 1] as number);
  }
  return encoderOf(buf, at);
}

/** kafkajs' own record encoder: the fallback, and the reference the tests compare with. */
export const kafkajsRecordEncoder = replaceKafkajsModule<RecordEncoder>('kafkajs/src/protocol/recordBatch/record/v0/index.js', () => encodeRecord).original;
