import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { frameCrc32, frameCrc32IsNative } from '../../../src/eventlog/embedded/frame-crc.js';
import { checkFrame, decodeFrame, encodeFrame, encodeFrameInto, frameSize, type FrameInput } from '../../../src/eventlog/embedded/record-format.js';
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

describe('frame layout', () => {
  // Frames as the encoder before encodeFrameInto wrote them (hex): the on-disk format must not move.
  const golden: Array<[FrameInput, string]> = [
    [
      { offset: 123456789, timestamp: 1_700_000_000_123, key: 'k€y', value: 'välue "x" \ud800 😀', headers: { 'aerofn-function': 'noop', 'h\u00e9': 'v\udc00' } },
      '5e0000006dcdc99400000054346f9d4100b08756febc78420500000013000000260000006be282ac7976c3a46c75652022782220efbfbd20f09f98800f006165726f666e2d66756e6374696f6e040000006e6f6f70030068c3a90400000076efbfbd',
    ],
    [{ offset: 0, timestamp: 0, key: null, value: null, headers: undefined }, '20000000ef6e879e00000000000000000000000000000000ffffffffffffffff00000000'],
    [{ offset: 7, timestamp: 5, key: '', value: Buffer.from([0, 1, 2, 255]), headers: {} }, '24000000e31c75120000000000001c400000000000001440000000000400000000000000000102ff'],
  ];

  it('is the same bytes as before, and frameSize says how many', () => {
    for (const [input, hex] of golden) {
      assert.equal(encodeFrame(input).toString('hex'), hex);
      assert.equal(frameSize(input), hex.length / 2);
    }
  });

  it('encodes frames back to back into one buffer, each as encodeFrame would', () => {
    const inputs = golden.map(([input]) => input);
    const total = inputs.reduce((n, input) => n + frameSize(input), 0);
    const arena = Buffer.alloc(total + 3, 0xaa);
    let at = 1;
    for (const input of inputs) at += encodeFrameInto(arena, at, input);
    assert.equal(at, total + 1);
    assert.deepEqual(arena.subarray(1, at), Buffer.concat(inputs.map((input) => encodeFrame(input))));
    assert.equal(arena[0], 0xaa);
    assert.equal(arena[at], 0xaa);
  });
});


describe('frameCrc32', () => {
  it('is zlib\'s CRC-32 (data dirs written before and after read back alike), natively here', () => {
    assert.equal(frameCrc32(Buffer.from('123456789')), 0xcbf43926);
    for (let size = 0; size < 3000; size += 97) {
      const bytes = randomBytes(size);
      assert.equal(frameCrc32(bytes), crc32(bytes), `${size} bytes`);
      assert.equal(frameCrc32(bytes.subarray(1)), crc32(bytes.subarray(1)), `${size} bytes at an odd offset`);
    }
    // The fallback is only for a platform without the binary; this machine has it.
    assert.ok(frameCrc32IsNative);
  });
});
