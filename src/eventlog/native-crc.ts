import { createRequire } from 'node:module';

/**
 * @node-rs/crc32's `crc32` (zlib's CRC-32) or `crc32c` (Castagnoli), prebuilt per platform with no
 * install script; undefined where its binary does not load, or loads but does not give `check`
 * for "123456789": a binary for another libc or CPU that computes garbage must not checksum a
 * frame or a record batch. The embedded log and the Kafka adapter each keep a fallback.
 */
export function nativeCrc(name: 'crc32' | 'crc32c', check: number): ((bytes: Uint8Array) => number) | undefined {
  try {
    const native = (createRequire(import.meta.url)('@node-rs/crc32') as Record<typeof name, (input: Uint8Array, initialState?: number) => number>)[name];
    return native(Buffer.from('123456789')) === check ? (bytes) => native(bytes) : undefined;
  } catch {
    return undefined;
  }
}
