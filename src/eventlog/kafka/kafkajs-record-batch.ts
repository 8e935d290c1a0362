import { createRequire } from 'node:module';
import { encoderOf, replaceKafkajsModule, type EncoderLike } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 assembles a produce request's record batch in three nested Encoders: the records
 * go into a body that starts at 512 bytes and doubles (each doubling a zero-filled allocation and
 * a copy of everything so far), the body is copied behind the CRC into a second Encoder, and that
 * into a third behind the first offset. For a 2,000-record batch of 1-2 KB invocation records
 * that is ~4 MB zero-filled, page-faulted and copied three to five times — after the record
 * encoder (kafkajs-record-encoder.ts), the main cost of a Kafka append in the profile. This
 * writes the same bytes into one buffer of the exact size: header fields, the record count, each
 * record copied once, then the CRC-32C over the body in place. Compressed batches and records
 * that are not Encoders go to kafkajs' own RecordBatch; a unit test compares the two byte for
 * byte, and the broker checks every batch's CRC and length.
 */
interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}
interface RecordBatchInput {
  readonly compression?: number;
  readonly firstOffset?: unknown;
  readonly firstTimestamp?: number;
  readonly maxTimestamp?: number;
  readonly partitionLeaderEpoch?: number;
  readonly lastOffsetDelta?: number;
  readonly transactional?: boolean;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
  readonly records?: readonly unknown[];
}
type RecordBatchEncoder = (input: RecordBatchInput) => Promise<EncoderLike>;

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): LongLike; fromInt(value: number): LongLike };
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (bytes: Buffer) => number;

const TRANSACTIONAL_MASK = 16;
/** firstOffset int64, batch length int32, partitionLeaderEpoch int32, magic int8, CRC uint32. */
const PREFIX_BYTES = 21;
/** attributes, lastOffsetDelta, first/max timestamp, producerId, producerEpoch, firstSequence, record count. */
const BODY_HEADER_BYTES = 40;

const isEncoder = (value: unknown): value is EncoderLike => typeof value === 'object' && value !== null && Buffer.isBuffer((value as EncoderLike).buf);

function writeInt64(buf: Buffer, at: number, value: unknown): void {
  const long = Long.fromValue(value);
  buf.writeInt32BE(long.getHighBits(), at);
  buf.writeInt32BE(long.getLowBits(), at + 4);
}

export async function encodeRecordBatch(input: RecordBatchInput): Promise<EncoderLike> {
  const { compression = 0, records = [] } = input;
  if (compression !== 0 || !records.every(isEncoder)) return kafkajsRecordBatch(input);
  const {
    firstOffset = Long.fromInt(0),
    firstTimestamp = Date.now(),
    maxTimestamp = Date.now(),
    partitionLeaderEpoch = 0,
    lastOffsetDelta = 0,
    transactional = false,
    producerId = Long.fromValue(-1),
    producerEpoch = 0,
    firstSequence = 0,
  } = input;
  let recordBytes = 0;
  for (const record of records as EncoderLike[]) recordBytes += record.offset;
  const total = PREFIX_BYTES + BODY_HEADER_BYTES + recordBytes;
  const buf = Buffer.allocUnsafe(total);
  writeInt64(buf, 0, firstOffset);
  buf.writeInt32BE(total - 12, 8); // the batch's length: everything after this field
  buf.writeInt32BE(partitionLeaderEpoch, 12);
  buf.writeInt8(kafkajsBatchModule.MAGIC_BYTE, 16);
  let at = PREFIX_BYTES;
  buf.writeInt16BE(transactional ? TRANSACTIONAL_MASK : 0, at); // no compression, create-time timestamps
  buf.writeInt32BE(lastOffsetDelta, at + 2);
  writeInt64(buf, at + 6, firstTimestamp);
  writeInt64(buf, at + 14, maxTimestamp);
  writeInt64(buf, at + 22, producerId);
  buf.writeInt16BE(producerEpoch, at + 30);
  buf.writeInt32BE(firstSequence, at + 32);
  buf.writeInt32BE(records.length, at + 36);
  at += BODY_HEADER_BYTES;
  for (const record of records as EncoderLike[]) {
    record.buf.copy(buf, at, 0, record.offset);
    at += record.offset;
  }
  buf.writeUInt32BE(crc32C(buf.subarray(PREFIX_BYTES, total)), 17);
  return encoderOf(buf);
}

const { original: kafkajsBatchModule } = replaceKafkajsModule<{ RecordBatch: RecordBatchEncoder; MAGIC_BYTE: number }>('kafkajs/src/protocol/recordBatch/v0/index.js', (original) => ({
  ...original,
  RecordBatch: encodeRecordBatch,
}));
/** kafkajs' own RecordBatch: the fallback, and the reference the tests compare with. */
export const kafkajsRecordBatch = kafkajsBatchModule.RecordBatch;
