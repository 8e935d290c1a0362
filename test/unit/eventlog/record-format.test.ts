import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkFrame, decodeFrame, encodeFrame } from '../../../src/eventlog/embedded/record-format.js';
import type { Headers } from '../../../src/eventlog/index.js';

describe('encodeFrame with a text value', () => {
  it('writes the same bytes as with the value as a Buffer (multi-byte text, headers, null key)', () => {
    const cases: Array<{ key: string | null; value: string; headers: Headers | undefined }> = [
      { key: 'noop', value: '{"id":"x","input":"{\\"a\\":\\"é€😀\\"}"}', headers: { 'aerofn-function': 'noop', 'aerofn-invocation-id': 'ünï' } },
      { key: null, value: '', headers: undefined },
      { key: 'k', value: 'x'.repeat(70_000), headers: {} },
    ];
    for (const { key, value, headers } of cases) {
      const asText = encodeFrame({ offset: 7, timestamp: 1_700_000_000_000, key, value, headers });
      const asBytes = encodeFrame({ offset: 7, timestamp: 1_700_000_000_000, key, value: Buffer.from(value, 'utf8'), headers });
      const withLength = encodeFrame({ offset: 7, timestamp: 1_700_000_000_000, key, value, valueBytes: Buffer.byteLength(value), headers });
      assert.deepEqual(asText, asBytes);
      assert.deepEqual(withLength, asBytes);
      const check = checkFrame(asText, 0, asText.length, true);
      assert.ok(check.ok);
    }
  });

  it('reads back what it wrote', () => {
    const frame = encodeFrame({ offset: 3, timestamp: 5, key: 'k', value: 'välue', headers: { h: 'v' } });
    const check = checkFrame(frame, 0, frame.length, true);
    assert.ok(check.ok);
    const record = decodeFrame(frame, 0, check.view, 'topic', 0);
    assert.equal(record.value?.toString('utf8'), 'välue');
    assert.deepEqual(record.headers, { h: 'v' });
    assert.equal(record.key, 'k');
  });
});
