import { nativeCrc } from '../native-crc.js';
import { replaceKafkajsModule } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 checksums every produced record batch (CRC-32C, as Kafka's v2 record format
 * requires) one byte at a time through a 256-entry table: ~2.5 ns per byte here, so ~2 µs of the
 * main thread per 1 KB invocation record the stream processor appends. It is replaced, in the
 * CommonJS module cache before kafkajs loads its record-batch encoder (kafkajs-modules.ts), by
 * @node-rs/crc32's native CRC-32C (prebuilt per platform, no install script; 0.16–0.4 ns per
 * byte here), or where that binary cannot load by the same CRC (Castagnoli polynomial, reflected)
 * computed eight bytes at a time through eight tables ("slicing-by-8", Intel's 2006 paper;
 * 0.9–1.7 ns per byte). The broker verifies every batch's CRC, so the Kafka integration tests
 * would fail on a wrong one.
 */
const POLY = 0x82f63b78;
const tables = Array.from({ length: 8 }, () => new Int32Array(256));
const [T0, T1, T2, T3, T4, T5, T6, T7] = tables as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) {
    const previous = (tables[t - 1] as Int32Array)[n] as number;
    (tables[t] as Int32Array)[n] = (previous >>> 8) ^ (T0[previous & 0xff] as number);
  }
}

/** CRC-32C of `bytes`, unsigned, in JavaScript. */
export function crc32cPortable(bytes: Uint8Array): number {
  let crc = ~0;
  let i = 0;
  const n = bytes.length;
  const whole = n - (n & 7);
  for (; i < whole; i += 8) {
    const low = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    crc =
      (T7[low & 0xff] as number) ^
      (T6[(low >>> 8) & 0xff] as number) ^
      (T5[(low >>> 16) & 0xff] as number) ^
      (T4[low >>> 24] as number) ^
      (T3[bytes[i + 4] as number] as number) ^
      (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^
      (T0[bytes[i + 7] as number] as number);
  }
  for (; i < n; i++) crc = (T0[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-32C of `bytes`, unsigned: native when @node-rs/crc32 loads here, else crc32cPortable. */
export const crc32c: (bytes: Uint8Array) => number = nativeCrc('crc32c', 0xe3069283) ?? crc32cPortable;
export const crc32cIsNative = crc32c !== crc32cPortable;

replaceKafkajsModule('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js', () => crc32c);
