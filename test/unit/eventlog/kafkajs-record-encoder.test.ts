import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import '../../../src/eventlog/index.js';
import { encodeRecord, kafkajsRecordEncoder } from '../../../src/eventlog/kafka/kafkajs-record-encoder.js';

const bytesOf = (encoder: { buf: Buffer; offset: number }): Buffer => encoder.buf.subarray(0, encoder.offset);
const field = fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)));
const headerValue = fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)));
const record = fc.record(
  {
    offsetDelta: fc.nat({ max: 100_000 }),
    timestampDelta: fc.oneof(fc.integer({ min: -5_000_000, max: 5_000_000 }), fc.maxSafeInteger(), fc.constant(2 ** 40)),
    key: field,
    value: fc.oneof(field, fc.string({ minLength: 500, maxLength: 3000 })),
    headers: fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }))),
  },
  { requiredKeys: ['key', 'value'] },
);

describe('record encoder for kafkajs', () => {
  it('writes exactly the bytes kafkajs writes, for any record', () => {
    fc.assert(
      fc.property(record, (input) => {
        assert.deepEqual(bytesOf(encodeRecord(input)), bytesOf(kafkajsRecordEncoder(input)));
      }),
      { numRuns: 2000 },
    );
  });

  it('handles an invocation-record-sized value with two headers itself, and is what kafkajs uses once src/eventlog is loaded', () => {
    const input = { offsetDelta: 1999, timestampDelta: 3, key: 'notes-fn', value: JSON.stringify({ pad: 'x'.repeat(1500) }), headers: { 'aerofn-function': 'notes-fn', 'aerofn-invocation-id': '0b0c7e0e-0000-8000-8000-000000000000' } };
    const ours = encodeRecord(input);
    assert.equal(ours.buf.length, ours.offset, 'one buffer of the exact size');
    assert.deepEqual(bytesOf(ours), bytesOf(kafkajsRecordEncoder(input)));
    const require = createRequire(import.meta.url);
    assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/index.js'), encodeRecord);
  });
});
