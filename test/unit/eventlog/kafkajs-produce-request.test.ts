import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import '../../../src/eventlog/index.js';
import { kafkajsProduceRequestV3, produceRequestV3, type ProduceRequestInput } from '../../../src/eventlog/kafka/kafkajs-produce-request.js';
import { encodeRequestFrame, kafkajsRequestFrame } from '../../../src/eventlog/kafka/kafkajs-request-frame.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): unknown };
const bytesOf = (encoder: { buf: Buffer; offset: number }): Buffer => encoder.buf.subarray(0, encoder.offset);

/** Date.now() fixed while `run` runs: kafkajs stamps a batch without timestamps with it. */
async function atTime<T>(now: number, run: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = () => now;
  try {
    return await run();
  } finally {
    Date.now = real;
  }
}

const message = fc.record(
  {
    key: fc.oneof(fc.constant(null), fc.string({ maxLength: 40 })),
    value: fc.oneof(fc.constant(null), fc.string({ maxLength: 1500 }), fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes))),
    headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), { maxKeys: 3 }),
    // A delta past 2^52 (9e15 against a small one) sends the record through kafkajs' own encoder.
    timestamp: fc.oneof(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map(String), fc.integer({ min: 0, max: 99_999 }), fc.constant(9e15)),
    partition: fc.nat({ max: 5 }),
  },
  { requiredKeys: ['value'] },
);
const request = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.nat({ max: 60_000 }),
  transactionalId: fc.oneof(fc.constant(null), fc.string({ maxLength: 30 })),
  producerId: fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 2 ** 40 })),
  producerEpoch: fc.oneof(fc.constant(undefined), fc.nat({ max: 32_767 })),
  topics: fc.array(
    fc.record({ topic: fc.string({ minLength: 1, maxLength: 40 }), partitions: fc.array(fc.record({ partition: fc.nat({ max: 100 }), firstSequence: fc.nat({ max: 2 ** 31 - 1 }), messages: fc.array(message, { maxLength: 30 }) }), { maxLength: 3 }) }),
    { maxLength: 3 },
  ),
  now: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  clientId: fc.oneof(fc.constant(null), fc.string({ maxLength: 30 }), fc.string({ minLength: 241, maxLength: 300 })),
  correlationId: fc.nat(),
});

describe('produce request and request frame for kafkajs', () => {
  it('write exactly the bytes kafkajs writes, for any uncompressed produce request', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const input: ProduceRequestInput = {
          acks: r.acks,
          timeout: r.timeout,
          transactionalId: r.transactionalId,
          ...(r.producerId === undefined ? {} : { producerId: Long.fromValue(r.producerId) }),
          ...(r.producerEpoch === undefined ? {} : { producerEpoch: r.producerEpoch }),
          topicData: r.topics,
        };
        const ours = produceRequestV3(input);
        const theirs = kafkajsProduceRequestV3(input);
        assert.deepEqual([ours.apiKey, ours.apiVersion, ours.apiName, ours.expectResponse()], [theirs.apiKey, theirs.apiVersion, theirs.apiName, theirs.expectResponse()]);
        const body = await atTime(r.now, () => ours.encode());
        assert.equal(body.buf.length, body.offset, 'one buffer of the exact size');
        assert.deepEqual(bytesOf(body), bytesOf(await atTime(r.now, () => theirs.encode())));
        const frame = { correlationId: r.correlationId, clientId: r.clientId };
        const ourFrame = await atTime(r.now, () => encodeRequestFrame({ ...frame, request: ours }));
        assert.deepEqual(bytesOf(ourFrame), bytesOf(await atTime(r.now, () => kafkajsRequestFrame({ ...frame, request: theirs }))));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves compressed requests to kafkajs, and is what kafkajs uses once src/eventlog is loaded', async () => {
    const input = { acks: -1, timeout: 1000, compression: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v'.repeat(100), timestamp: '1700000000000' }] }] }] };
    const ours = await produceRequestV3(input).encode();
    assert.deepEqual(bytesOf(ours), bytesOf(await kafkajsProduceRequestV3(input).encode()));
    assert.equal(require('kafkajs/src/protocol/requests/produce/v3/request.js'), produceRequestV3);
    assert.equal(require('kafkajs/src/protocol/request.js'), encodeRequestFrame);
  });
});
