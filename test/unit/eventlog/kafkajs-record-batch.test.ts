import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import '../../../src/eventlog/index.js';
import { encodeRecord } from '../../../src/eventlog/kafka/kafkajs-record-encoder.js';
import { encodeRecordBatch, kafkajsRecordBatch } from '../../../src/eventlog/kafka/kafkajs-record-batch.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): unknown };
const bytesOf = (encoder: { buf: Buffer; offset: number }): Buffer => encoder.buf.subarray(0, encoder.offset);

const batch = fc.record({
  values: fc.array(fc.oneof(fc.constant(null), fc.string({ maxLength: 2500 })), { maxLength: 40 }),
  firstTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  spread: fc.nat({ max: 100_000 }),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 40 })),
  producerEpoch: fc.nat({ max: 32_767 }),
  firstSequence: fc.nat({ max: 2 ** 31 - 1 }),
  transactional: fc.boolean(),
  partitionLeaderEpoch: fc.oneof(fc.constant(undefined), fc.nat({ max: 1000 })),
});

describe('record batch encoder for kafkajs', () => {
  it('writes exactly the bytes kafkajs writes, for any uncompressed batch', async () => {
    await fc.assert(
      fc.asyncProperty(batch, async (b) => {
        const input = {
          compression: 0,
          records: b.values.map((value, i) => encodeRecord({ offsetDelta: i, timestampDelta: i, key: `k${i}`, value, headers: { h: 'v' } })),
          firstTimestamp: b.firstTimestamp,
          maxTimestamp: b.firstTimestamp + b.spread,
          producerId: Long.fromValue(b.producerId),
          producerEpoch: b.producerEpoch,
          firstSequence: b.firstSequence,
          transactional: b.transactional,
          lastOffsetDelta: Math.max(0, b.values.length - 1),
          ...(b.partitionLeaderEpoch === undefined ? {} : { partitionLeaderEpoch: b.partitionLeaderEpoch }),
        };
        const ours = await encodeRecordBatch(input);
        assert.equal(ours.buf.length, ours.offset, 'one buffer of the exact size');
        assert.deepEqual(bytesOf(ours), bytesOf(await kafkajsRecordBatch(input)));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves compressed batches to kafkajs, and is what kafkajs uses once src/eventlog is loaded', async () => {
    const input = { compression: 1, records: [encodeRecord({ key: 'k', value: 'v'.repeat(100) })], firstTimestamp: 1, maxTimestamp: 1 };
    assert.deepEqual(bytesOf(await encodeRecordBatch(input)), bytesOf(await kafkajsRecordBatch(input)));
    assert.equal((require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: unknown }).RecordBatch, encodeRecordBatch);
  });
});
