import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import '../../../src/eventlog/index.js';
import { crc32c, crc32cIsNative, crc32cPortable } from '../../../src/eventlog/kafka/kafkajs-crc32c.js';

/** The CRC bit by bit, straight from the definition (reflected Castagnoli polynomial). */
function reference(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('CRC-32C for kafkajs record batches', () => {
  for (const [name, crc] of [['native (@node-rs/crc32)', crc32c], ['portable (slicing-by-8)', crc32cPortable]] as const) {
    it(`${name}: the standard check value, and the bitwise definition at every length and offset`, () => {
      assert.equal(crc(Buffer.from('123456789')), 0xe3069283);
      assert.equal(crc(new Uint8Array(0)), 0);
      const data = randomBytes(4096);
      for (let length = 0; length < 70; length++) {
        for (const offset of [0, 1, 3, 7]) {
          const slice = data.subarray(offset, offset + length);
          assert.equal(crc(slice), reference(slice), `length ${length}, offset ${offset}`);
        }
      }
      assert.equal(crc(data), reference(data));
    });
  }

  it('uses the native CRC where @node-rs/crc32 has a prebuilt binary (here: linux-x64 with glibc)', () => {
    const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
    const prebuilt = process.platform === 'linux' && process.arch === 'x64' && glibc;
    assert.equal(crc32cIsNative, prebuilt, prebuilt ? 'package-lock.json should carry @node-rs/crc32-linux-x64-gnu' : 'no binary expected: the portable CRC');
  });

  it('is the checksum kafkajs uses once src/eventlog is loaded', () => {
    const require = createRequire(import.meta.url);
    const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
    const data = randomBytes(1000);
    assert.equal(kafkajsCrc(data), reference(data));
    assert.equal(require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js'), crc32c);
  });
});
