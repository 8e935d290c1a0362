import { stringBytes, writeString } from './kafkajs-produce-request.js';
import { encoderOf, replaceKafkajsModule } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4's protocol/request.js puts every request behind its header (api key and version,
 * correlation id, client id) and length prefix through two growing Encoders: two zero-filled
 * allocations and two copies of the request body, for a produce request the whole record batch
 * each time. This writes the same bytes into one buffer of the exact size, copying the body once
 * (see kafkajs-produce-request.ts; a unit test compares the frames byte for byte).
 */
interface FrameInput {
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly request: { readonly apiKey: number; readonly apiVersion: number; readonly encode: () => Promise<{ buf: Buffer; offset: number }> };
}

export async function encodeRequestFrame({ correlationId, clientId, request: { apiKey, apiVersion, encode } }: FrameInput): Promise<ReturnType<typeof encoderOf>> {
  const payload = await encode();
  const size = 2 + 2 + 4 + stringBytes(clientId) + payload.offset;
  const buf = Buffer.allocUnsafe(4 + size);
  let at = buf.writeInt32BE(size, 0);
  at = buf.writeInt16BE(apiKey, at);
  at = buf.writeInt16BE(apiVersion, at);
  at = buf.writeInt32BE(correlationId, at);
  at = writeString(buf, at, clientId);
  payload.buf.copy(buf, at, 0, payload.offset);
  return encoderOf(buf);
}

/** kafkajs' own request framing: the reference the tests compare with. */
export const kafkajsRequestFrame = replaceKafkajsModule<(input: FrameInput) => Promise<{ buf: Buffer; offset: number }>>('kafkajs/src/protocol/request.js', () => encodeRequestFrame).original;
