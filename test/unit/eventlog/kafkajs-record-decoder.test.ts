import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import '../../../src/eventlog/index.js';
import { decodeRecord, kafkajsRecordDecoder } from '../../../src/eventlog/kafka/kafkajs-record-decoder.js';
import { encodeRecord } from '../../../src/eventlog/kafka/kafkajs-record-encoder.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => { offset: number };
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<{ records: unknown[] }>;
const { RecordBatch: RecordBatchEncoder } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (input: unknown) => Promise<{ buffer: Buffer }> };

const field = fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)));
// Header keys kafkajs folds oddly included: inherited names and __proto__.
const headerKey = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('toString', '__proto__', 'constructor', 'a'));
const headerValue = fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)));
const record = fc.record({
  offsetDelta: fc.nat({ max: 100_000 }),
  timestampDelta: fc.oneof(fc.integer({ min: -5_000_000, max: 5_000_000 }), fc.constant(2 ** 48 + 3), fc.constant(-(2 ** 50)), fc.maxSafeInteger()),
  key: field,
  value: field,
  headers: fc.array(fc.tuple(headerKey, fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 }))), { maxLength: 4 }),
});
const context = fc.record({
  firstOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.constant(2n ** 53n + 7n), fc.constant(2n ** 63n - 200_000n)).map(String),
  firstTimestamp: fc.oneof(fc.bigInt({ min: 1_600_000_000_000n, max: 1_900_000_000_000n }), fc.constant(2n ** 62n)).map(String),
  magicByte: fc.constant(2),
  isControlBatch: fc.boolean(),
  timestampType: fc.constantFrom(0, 1),
  maxTimestamp: fc.oneof(fc.constant(''), fc.constant('1795840000000')),
});

type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;

const bytesOf = (input: Generated<typeof record>): Buffer => {
  const encoder = encodeRecord({ ...input, headers: Object.fromEntries(input.headers) });
  return encoder.buf.subarray(0, encoder.offset);
};

describe('record decoder for kafkajs', () => {
  it('reads the same bytes and returns the same record as kafkajs, for any record and batch', () => {
    fc.assert(
      fc.property(record, context, (input, batch) => {
        const bytes = bytesOf(input);
        // What the RecordBatch decoder hands each record: a Decoder over its bytes (length prefix read).
        const theirs = new Decoder(bytes);
        const ours = new Decoder(bytes);
        (theirs as unknown as { readVarInt(): number }).readVarInt();
        (ours as unknown as { readVarInt(): number }).readVarInt();
        const expected = kafkajsRecordDecoder(theirs as never, { ...batch });
        const actual = decodeRecord(ours as never, { ...batch });
        assert.deepEqual(actual, expected);
        assert.equal(ours.offset, theirs.offset);
      }),
      { numRuns: 3000 },
    );
  });

  it('is what kafkajs decodes fetched record batches with once src/eventlog is loaded', async () => {
    assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
    const records = Array.from({ length: 5 }, (_, i) => encodeRecord({ offsetDelta: i, timestampDelta: i * 10, key: `k${i}`, value: `v${i}`, headers: { 'aerofn-function': 'f' } }));
    const batch = await RecordBatchEncoder({ firstOffset: '1000', firstTimestamp: 1_795_840_000_000, maxTimestamp: 1_795_840_000_040, lastOffsetDelta: 4, records });
    const decoded = await RecordBatchDecoder(new Decoder(batch.buffer));
    assert.deepEqual(
      decoded.records.map((r) => {
        const { offset, timestamp, key, value, headers } = r as { offset: string; timestamp: string; key: Buffer; value: Buffer; headers: Record<string, Buffer> };
        return [offset, timestamp, key.toString(), value.toString(), headers['aerofn-function']?.toString()];
      }),
      [0, 1, 2, 3, 4].map((i) => [String(1000 + i), String(1_795_840_000_000 + i * 10), `k${i}`, `v${i}`, 'f']),
    );
  });
});
