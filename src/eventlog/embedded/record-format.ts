import { frameCrc32 as crc32 } from './frame-crc.js';
import type { Headers, LogRecord } from '../event-log.js';

/**
 * One record on disk (little-endian), self-delimiting and checked:
 *
 *   0  u32 size         bytes after this field (32 + key + value + headers)
 *   4  u32 crc          CRC-32 (zlib's) of bytes 8 .. 4+size
 *   8  f64 offset       exact for offsets below 2^53
 *  16  f64 timestamp    ms since the epoch
 *  24  i32 keyLength    -1 = null key
 *  28  i32 valueLength  -1 = null value (a tombstone)
 *  32  u32 headersLength  0 = no headers
 *  36  key | value | headers: per header u16 nameLength, name, u32 valueLength, value (UTF-8)
 *
 * A frame whose size, bounds or CRC do not check out ends the valid part of a segment: on open,
 * the log truncates the file there (a torn tail from a crash mid-write).
 */
export const FRAME_HEADER_BYTES = 36;
const SIZE_MIN = FRAME_HEADER_BYTES - 4;
/** Far above any record we accept; a bigger size field is garbage, not a record. */
export const FRAME_SIZE_MAX = 1024 * 1024 * 1024;

export interface FrameInput {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  /** The value as bytes, or as text written into the frame as UTF-8 (no Buffer of its own). */
  readonly value: Buffer | string | null;
  /** The value's UTF-8 length when the caller knows it already (a string value). */
  readonly valueBytes?: number;
  readonly headers: Headers | undefined;
}

/** Buffer's own UTF-8 writer, without the argument handling of `write` (~60 ns a call, 4 calls a frame). */
interface RawWrites {
  utf8Write(text: string, offset: number): number;
}
const raw = (buf: Buffer): RawWrites => buf as unknown as RawWrites;

function valueLengthOf(input: FrameInput): number {
  const { value } = input;
  return value === null ? 0 : typeof value === 'string' ? (input.valueBytes ?? Buffer.byteLength(value, 'utf8')) : value.length;
}

/** The bytes encodeFrame writes for `input`. */
export function frameSize(input: FrameInput): number {
  const { key, headers } = input;
  let size = FRAME_HEADER_BYTES + (key === null ? 0 : Buffer.byteLength(key, 'utf8')) + valueLengthOf(input);
  if (headers !== undefined) for (const name in headers) size += 6 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(String(headers[name]), 'utf8');
  return size;
}

export function encodeFrame(input: FrameInput): Buffer {
  const frame = Buffer.allocUnsafe(frameSize(input));
  encodeFrameInto(frame, 0, input);
  return frame;
}

/**
 * Writes the frame of `input` into `target` at `at` (room for frameSize(input) bytes) and returns
 * its size. The log writer encodes a partition's frames of one flush into one buffer this way: no
 * Buffer per frame, and no copy to join them for the write.
 */
export function encodeFrameInto(target: Buffer, at: number, input: FrameInput): number {
  // Key, value text and headers are written straight into the frame (no Buffer per key, value,
  // name and header value): appending invocation records, that allocation was a visible part of
  // the pipeline's cost.
  const { key, value, headers } = input;
  const start = at;
  const valueLength = valueLengthOf(input);
  const out = raw(target);
  at += FRAME_HEADER_BYTES;
  const keyLength = key === null ? 0 : out.utf8Write(key, at);
  at += keyLength;
  if (value !== null) at += typeof value === 'string' ? out.utf8Write(value, at) : value.copy(target, at);
  const headersAt = at;
  if (headers !== undefined) {
    for (const name in headers) {
      const nameAt = at + 2;
      const nameLength = out.utf8Write(name, nameAt);
      target.writeUInt16LE(nameLength, at);
      const valueAt = nameAt + nameLength + 4;
      const written = out.utf8Write(String(headers[name]), valueAt);
      target.writeUInt32LE(written, nameAt + nameLength);
      at = valueAt + written;
    }
  }
  const total = at - start;
  target.writeUInt32LE(total - 4, start);
  target.writeDoubleLE(input.offset, start + 8);
  target.writeDoubleLE(input.timestamp, start + 16);
  target.writeInt32LE(key === null ? -1 : keyLength, start + 24);
  target.writeInt32LE(value === null ? -1 : valueLength, start + 28);
  target.writeUInt32LE(at - headersAt, start + 32);
  target.writeUInt32LE(crc32(target.subarray(start + 8, at)), start + 4);
  return total;
}

/** Header fields of the frame at `at`, without copying the payload. */
export interface FrameView {
  readonly frameBytes: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly keyLength: number;
  readonly valueLength: number;
  readonly headersLength: number;
}

export type FrameCheck = { ok: true; view: FrameView } | { ok: false; reason: 'incomplete' | 'corrupt'; needBytes?: number };

/**
 * Checks the frame at `at` in `buf` (which holds `end` valid bytes). 'incomplete' means the buffer
 * ends inside the frame (`needBytes` = its full size when the size field was readable).
 */
export function checkFrame(buf: Buffer, at: number, end: number, verifyCrc: boolean): FrameCheck {
  if (end - at < 4) return { ok: false, reason: 'incomplete' };
  const size = buf.readUInt32LE(at);
  if (size < SIZE_MIN || size > FRAME_SIZE_MAX) return { ok: false, reason: 'corrupt' };
  if (end - at < 4 + size) return { ok: false, reason: 'incomplete', needBytes: 4 + size };
  const keyLength = buf.readInt32LE(at + 24);
  const valueLength = buf.readInt32LE(at + 28);
  const headersLength = buf.readUInt32LE(at + 32);
  const payload = Math.max(keyLength, 0) + Math.max(valueLength, 0) + headersLength;
  if (keyLength < -1 || valueLength < -1 || FRAME_HEADER_BYTES + payload !== 4 + size) return { ok: false, reason: 'corrupt' };
  if (verifyCrc && crc32(buf.subarray(at + 8, at + 4 + size)) !== buf.readUInt32LE(at + 4)) return { ok: false, reason: 'corrupt' };
  return {
    ok: true,
    view: { frameBytes: 4 + size, offset: buf.readDoubleLE(at + 8), timestamp: buf.readDoubleLE(at + 16), keyLength, valueLength, headersLength },
  };
}

export function frameKey(buf: Buffer, at: number, view: FrameView): string | null {
  if (view.keyLength < 0) return null;
  const start = at + FRAME_HEADER_BYTES;
  return buf.toString('utf8', start, start + view.keyLength);
}

/** A LogRecord that owns its bytes (a copy), so holding one record does not pin a whole read buffer. */
export function decodeFrame(buf: Buffer, at: number, view: FrameView, topic: string, partition: number): LogRecord {
  let p = at + FRAME_HEADER_BYTES;
  const key = view.keyLength < 0 ? null : buf.toString('utf8', p, p + view.keyLength);
  p += Math.max(view.keyLength, 0);
  const value = view.valueLength < 0 ? null : Buffer.from(buf.subarray(p, p + view.valueLength));
  p += Math.max(view.valueLength, 0);
  const headers = view.headersLength === 0 ? {} : decodeHeaders(buf, p, p + view.headersLength);
  return { topic, partition, offset: view.offset, timestamp: view.timestamp, key, value, headers };
}

// Binary rather than JSON: JSON.parse per record was the largest cost of a replay.
function decodeHeaders(buf: Buffer, start: number, end: number): Headers {
  const out: Record<string, string> = {};
  let p = start;
  while (p + 6 <= end) {
    const nameLength = buf.readUInt16LE(p);
    const name = buf.toString('utf8', p + 2, p + 2 + nameLength);
    p += 2 + nameLength;
    const valueLength = buf.readUInt32LE(p);
    out[name] = buf.toString('utf8', p + 4, p + 4 + valueLength);
    p += 4 + valueLength;
  }
  return out;
}
