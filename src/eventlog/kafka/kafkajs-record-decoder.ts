import { createRequire } from 'node:module';
import { replaceKafkajsModule } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 decodes each fetched record's offset and timestamp through 64-bit Long objects:
 * it parses the batch's first offset and first timestamp from their decimal text again for every
 * record, adds the delta and prints the sum back, and reads the timestamp delta as a chain of Longs;
 * its headers are folded with an object spread per header. That is ~1 µs of the main thread's ~22
 * per event on Kafka (`PROFILE_LOG=kafka profile-phase.ts`). This decoder parses the batch's
 * offsets once, adds in plain numbers while they are safe integers, and builds the headers in
 * place. It reads the same bytes and returns the same record (a unit test compares the two on
 * random records); a first offset or timestamp beyond 2^53, or a delta over 7 varint bytes, takes
 * kafkajs' Long arithmetic, as before.
 */
interface KafkajsDecoder {
  readonly buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): LongLike;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}
interface LongLike {
  add(other: LongLike | number): LongLike;
  toString(): string;
}
interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}
type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: BatchContext) => unknown;

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): LongLike; fromNumber(value: number): LongLike };
const LOG_APPEND_TIME = (require('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME: number }).LOG_APPEND_TIME;

/** A decimal text as a number when it is a safe integer written the usual way, else NaN. */
function safeInteger(text: string | undefined): number {
  const value = Number(text);
  return Number.isSafeInteger(value) && String(value) === text ? value : Number.NaN;
}

// The records of one batch are decoded one after another with the same context object.
let lastContext: BatchContext | undefined;
let firstOffset = Number.NaN;
let firstTimestamp = Number.NaN;

/** A zig-zag varlong of at most 7 bytes (49 bits) as a number; undefined (nothing read) when longer. */
function readSmallVarLong(decoder: KafkajsDecoder): number | undefined {
  const { buffer } = decoder;
  let at = decoder.offset;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buffer[at++];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      decoder.offset = at;
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    scale *= 128;
  }
  return undefined;
}

/** The sum as decimal text: in numbers while safe, else kafkajs' Long arithmetic. */
function plus(base: number, baseText: string | undefined, delta: number | LongLike): string {
  if (typeof delta === 'number') {
    const sum = base + delta;
    if (Number.isSafeInteger(sum)) return String(sum);
    return Long.fromValue(baseText).add(Long.fromNumber(delta)).toString();
  }
  return Long.fromValue(baseText).add(delta).toString();
}

/**
 * Headers as kafkajs folds them, quirks included: a repeated key becomes an array in order, and a
 * key an object inherits (`toString`) starts from the inherited value, as `obj[key]` reads it.
 */
function readHeaders(decoder: KafkajsDecoder): Record<string, unknown> {
  const count = decoder.readVarInt();
  const headers: Record<string, unknown> = {};
  if (count === -1) return headers;
  if (count < 0) throw new RangeError('Invalid array length');
  for (let i = 0; i < count; i++) {
    const key = String(decoder.readVarIntString());
    const value = decoder.readVarIntBytes();
    const seen = headers[key];
    const next = seen === undefined ? value : Array.isArray(seen) ? seen.concat([value]) : [seen, value];
    // As a computed key in kafkajs' object literal: an own property even for `__proto__`.
    Object.defineProperty(headers, key, { value: next, writable: true, enumerable: true, configurable: true });
  }
  return headers;
}

export function decodeRecord(decoder: KafkajsDecoder, batchContext: BatchContext = {}): unknown {
  if (batchContext !== lastContext) {
    lastContext = batchContext;
    firstOffset = safeInteger(batchContext.firstOffset);
    firstTimestamp = safeInteger(batchContext.firstTimestamp);
  }
  if (Number.isNaN(firstOffset) || Number.isNaN(firstTimestamp)) return kafkajsRecordDecoder(decoder, batchContext);
  const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = readSmallVarLong(decoder) ?? decoder.readVarLong();
  const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : plus(firstTimestamp, batchContext.firstTimestamp, timestampDelta);
  const offset = plus(firstOffset, batchContext.firstOffset, decoder.readVarInt());
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = readHeaders(decoder);
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}

export const kafkajsRecordDecoder = replaceKafkajsModule<RecordDecoder>('kafkajs/src/protocol/recordBatch/record/v0/decoder.js', () => decodeRecord).original;
