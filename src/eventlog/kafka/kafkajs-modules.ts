import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Puts our version of a kafkajs internal module (`kafkajs/src/...`) into the CommonJS module cache,
 * so the kafkajs modules that require it afterwards get ours. It must run before kafkajs loads
 * them (src/eventlog/index.ts imports the replacements first); if kafkajs loaded this one already,
 * its users hold the original and nothing is replaced. Returns kafkajs' own exports (for
 * fallbacks and tests) and whether ours is in place.
 */
export function replaceKafkajsModule<T>(specifier: string, ours: (original: T) => unknown): { readonly original: T; readonly replaced: boolean } {
  const path = require.resolve(specifier);
  const loadedBefore = require.cache[path] !== undefined;
  const original = require(path) as T;
  const cached = require.cache[path];
  if (loadedBefore || cached === undefined) return { original, replaced: false };
  cached.exports = ours(original);
  return { original, replaced: true };
}

/** What kafkajs reads of an Encoder it is handed: the bytes written so far and, through its prototype, `.buffer` and `.size()`. */
export interface EncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}

const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };

/** An Encoder kafkajs can use as its own, over bytes already written (`offset` of them, all by default). */
export function encoderOf(buf: Buffer, offset = buf.length): EncoderLike {
  const encoder = Object.create(Encoder.prototype) as EncoderLike;
  encoder.buf = buf;
  encoder.offset = offset;
  return encoder;
}
