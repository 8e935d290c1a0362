import type { InvokeResponse } from '../../gen/aerodb/functions/v1/functions.js';

/**
 * InvokeResponse as one gRPC length-prefixed message, written straight into one Buffer (from
 * Node's pool for small answers). The generated encoder grows a 128-byte writer, copies it out and
 * is framed by another copy: three allocations per call on the hottest path. The field numbers and
 * wire types are those of proto/aerodb/functions/v1/functions.proto; test/unit/api/invoke-frame.test.ts
 * decodes the result with the generated decoder to keep the two in step.
 */
export function frameInvokeResponse(response: InvokeResponse): Buffer {
  const idBytes = response.invocationId === '' ? 0 : Buffer.byteLength(response.invocationId);
  const outputBytes = response.output === '' ? 0 : Buffer.byteLength(response.output);
  const version = response.version >>> 0;
  const size =
    (idBytes === 0 ? 0 : 1 + varintLength(idBytes) + idBytes) +
    (version === 0 ? 0 : 1 + varintLength(version)) +
    (outputBytes === 0 ? 0 : 1 + varintLength(outputBytes) + outputBytes) +
    (response.durationMs === 0 ? 0 : 9);
  const frame = Buffer.allocUnsafe(5 + size);
  frame[0] = 0; // not compressed
  frame.writeUInt32BE(size, 1);
  let at = 5;
  if (idBytes !== 0) {
    frame[at++] = (1 << 3) | 2; // invocation_id, length-delimited
    at = writeVarint(frame, at, idBytes);
    at += frame.write(response.invocationId, at, idBytes, 'utf8');
  }
  if (version !== 0) {
    frame[at++] = (2 << 3) | 0; // version, varint
    at = writeVarint(frame, at, version);
  }
  if (outputBytes !== 0) {
    frame[at++] = (3 << 3) | 2; // output, length-delimited
    at = writeVarint(frame, at, outputBytes);
    at += frame.write(response.output, at, outputBytes, 'utf8');
  }
  if (response.durationMs !== 0) {
    frame[at++] = (4 << 3) | 1; // duration_ms, 64-bit
    frame.writeDoubleLE(response.durationMs, at);
  }
  return frame;
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    buffer[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[at++] = value;
  return at;
}
