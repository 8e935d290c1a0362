import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { frameInvokeResponse } from '../../../src/api/index.js';
import { InvokeResponse } from '../../../src/gen/aerodb/functions/v1/functions.js';

/** The hand-written InvokeResponse framing must read back with the generated decoder, byte for byte. */
describe('frameInvokeResponse', () => {
  const cases: InvokeResponse[] = [
    { invocationId: '3f1c2b8e-0c1d-4a57-9d0e-0123456789ab', version: 3, output: '{"message":"hello","n":42}', durationMs: 0.123 },
    { invocationId: '', version: 0, output: '', durationMs: 0 },
    { invocationId: 'id', version: 0xffffffff, output: 'null', durationMs: -1.5 },
    { invocationId: 'ünïcødé ✓', version: 128, output: JSON.stringify({ emoji: '🦀', text: 'ß'.repeat(200) }), durationMs: 1e300 },
    { invocationId: 'x', version: 16384, output: 'y'.repeat(70_000), durationMs: 5 },
  ];
  for (const response of cases) {
    it(`frames ${JSON.stringify(response).slice(0, 60)}…`, () => {
      const frame = frameInvokeResponse(response);
      assert.equal(frame[0], 0, 'not compressed');
      assert.equal(frame.readUInt32BE(1), frame.length - 5, 'the prefix holds the message length');
      assert.deepEqual(Buffer.from(frame.subarray(5)), Buffer.from(InvokeResponse.encode(response).finish()), 'the same bytes as the generated encoder');
      assert.deepEqual(InvokeResponse.decode(frame.subarray(5)), response);
    });
  }
});
