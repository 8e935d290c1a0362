import { createRequire } from 'node:module';
import { encoderOf, replaceKafkajsModule, type EncoderLike } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 frames a produce request (v3, which v4–v7 wrap) in four nested Encoders — the
 * partition (its record batch behind partition and size), the topic, the request body, then
 * protocol/request.js's header and length prefix — each starting at 512 zero-filled bytes and
 * doubling: every level re-allocates, zero-fills and copies the whole batch again, and the large
 * buffers go through page faults and the GC's background sweeper. It also copies every message
 * with an object spread to add its offset and timestamp deltas (`{ ...message, offsetDelta, … }`),
 * ~5 % of the stream processor's main thread on Kafka. This writes the same bytes: each record
 * batch (kafkajs-record-batch.ts) is copied once into a body of the exact size, and the request
 * frame (kafkajs-request-frame.ts) copies that once behind the header. Compressed requests go to
 * kafkajs' own code; a unit test compares both with kafkajs byte for byte.
 */
interface ProduceMessage {
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Record<string, unknown>;
  readonly timestamp?: unknown;
}
interface PartitionData {
  readonly partition: number;
  readonly messages: readonly ProduceMessage[];
  readonly firstSequence?: number;
}
interface TopicData {
  readonly topic: string;
  readonly partitions: readonly PartitionData[];
}
export interface ProduceRequestInput {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: readonly TopicData[];
}
export interface ProduceRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  readonly expectResponse: () => boolean;
  readonly encode: () => Promise<EncoderLike>;
}
type RecordFn = (input: { offsetDelta: number; timestampDelta: number; key?: unknown; value?: unknown; headers?: Record<string, unknown> }) => EncoderLike;
type RecordBatchFn = (input: Record<string, unknown>) => Promise<EncoderLike>;

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromInt(value: number): unknown };
const { Produce: apiKey } = require('kafkajs/src/protocol/requests/apiKeys.js') as { Produce: number };
const { Types } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number } };
// Through the module cache, so these are kafkajs-record-encoder.ts and kafkajs-record-batch.ts.
const recordV0 = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as RecordFn;
const recordBatchV0 = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: RecordBatchFn };

/** Bytes of a Kafka STRING / NULLABLE_STRING (int16 length, UTF-8); -1 for null. */
export const stringBytes = (value: string | null | undefined): number => 2 + (value == null ? 0 : Buffer.byteLength(value, 'utf8'));

export function writeString(buf: Buffer, at: number, value: string | null | undefined): number {
  if (value == null) {
    buf.writeInt16BE(-1, at);
    return at + 2;
  }
  const length = buf.write(value, at + 2, 'utf8');
  buf.writeInt16BE(length, at);
  return at + 2 + length;
}

/**
 * One partition's record batch, as kafkajs' partitionsEncoder builds it: timestamps relative to
 * the smallest given one (kafkajs sorts them as strings; kept as is when any is given), else now.
 */
async function partitionBatch(data: PartitionData, transactionalId: string | null, producerId: unknown, producerEpoch: number): Promise<EncoderLike> {
  const { messages } = data;
  const dateNow = Date.now();
  let stamped = false;
  for (const message of messages) if (message.timestamp != null) stamped = true;
  let firstTimestamp: unknown = dateNow;
  let maxTimestamp: unknown = dateNow;
  if (stamped) {
    const timestamps = messages.map((m) => m.timestamp).filter((timestamp) => timestamp != null);
    timestamps.sort(); // kafkajs sorts them as strings; kept, so the bytes match
    firstTimestamp = timestamps[0];
    maxTimestamp = timestamps[timestamps.length - 1];
  }
  const records = new Array<EncoderLike>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as ProduceMessage;
    const timestampDelta = ((message.timestamp || dateNow) as number) - (firstTimestamp as number);
    records[i] = recordV0({ key: message.key, value: message.value, headers: message.headers, offsetDelta: i, timestampDelta });
  }
  return recordBatchV0.RecordBatch({
    compression: Types.None,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    firstSequence: data.firstSequence,
    transactional: !!transactionalId,
    lastOffsetDelta: records.length - 1,
  });
}

export function produceRequestV3(input: ProduceRequestInput): ProduceRequest {
  const { acks, timeout, transactionalId = null, producerId = Long.fromInt(-1), producerEpoch = 0, compression = Types.None, topicData } = input;
  if (compression !== Types.None) return kafkajsProduceRequestV3(input);
  return {
    apiKey,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async () => {
      const batches: EncoderLike[][] = [];
      let size = stringBytes(transactionalId) + 2 + 4 + 4;
      for (const { topic, partitions } of topicData) {
        const encoded: EncoderLike[] = [];
        size += stringBytes(topic) + 4;
        for (const data of partitions) {
          const batch = await partitionBatch(data, transactionalId, producerId, producerEpoch);
          encoded.push(batch);
          size += 8 + batch.size();
        }
        batches.push(encoded);
      }
      const buf = Buffer.allocUnsafe(size);
      let at = writeString(buf, 0, transactionalId);
      at = buf.writeInt16BE(acks, at);
      at = buf.writeInt32BE(timeout, at);
      at = buf.writeInt32BE(topicData.length, at);
      topicData.forEach(({ topic, partitions }, t) => {
        at = writeString(buf, at, topic);
        at = buf.writeInt32BE(partitions.length, at);
        partitions.forEach(({ partition }, p) => {
          const batch = (batches[t] as EncoderLike[])[p] as EncoderLike;
          at = buf.writeInt32BE(partition, at);
          at = buf.writeInt32BE(batch.size(), at);
          at += batch.buf.copy(buf, at, 0, batch.offset);
        });
      });
      return encoderOf(buf);
    },
  };
}

/** kafkajs' own produce v3 request: the fallback (compression), and the reference the tests compare with. */
export const kafkajsProduceRequestV3 = replaceKafkajsModule<(input: ProduceRequestInput) => ProduceRequest>(
  'kafkajs/src/protocol/requests/produce/v3/request.js',
  () => produceRequestV3,
).original;
