import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';

/**
 * A lean path for hot unary methods (Invoke) straight on the HTTP/2 streams of the grpc-js server.
 *
 * Why: per call, grpc-js builds an intercepting call, a Metadata object, a stream decoder, a
 * response writer and several closures and events; a bare grpc-js echo server costs ≈ 55-65 µs of
 * CPU per call where the same echo on node:http2 costs ≈ 35 µs (bench/api, docs/benchmarks-api.md).
 * The wire format of a plain unary call is small: one length-prefixed message each way, the status
 * in trailers. Everything else — other methods, health, reflection, streams, compressed requests,
 * wrong content types — still goes to grpc-js unchanged, which also keeps owning the listening
 * sockets, the sessions and shutdown.
 *
 * grpc-js offers no public hook to route a stream, so the 'stream' listeners it put on its HTTP/2
 * servers are wrapped once after bind (`http2Servers` is a private member of grpc.Server; the
 * version is pinned in package-lock.json and test/e2e/api-grpc.test.ts covers both paths). If that
 * member is missing, nothing is wrapped and every call takes the grpc-js path.
 */
export interface FastUnaryMethod<Req, Res> {
  decode(bytes: Uint8Array): Req;
  /** The response as one length-prefixed message (`frameMessage` frames encoded bytes). */
  frame(response: Res): Buffer;
  /** `authorization` is the metadata value, if sent. Rejections are mapped by `toStatus`. */
  handle(request: Req, authorization: string | undefined): Promise<Res>;
}

export interface FastUnaryOptions {
  /** By path, e.g. `/aerodb.functions.v1.Functions/Invoke`. */
  readonly methods: ReadonlyMap<string, FastUnaryMethod<never, never>>;
  readonly maxMessageBytes: number;
  /** The same mapping the grpc-js handlers use (code, details, trailing metadata). */
  toStatus(error: unknown): Partial<grpc.StatusObject>;
}

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number) => void;

// No grpc-encoding: the answer is not compressed (identity is the default), and every header costs
// HPACK work on both sides.
const responseHeaders = { ':status': 200, 'content-type': 'application/grpc+proto' };
const okTrailers = { 'grpc-status': '0' };

/** Frames encoded message bytes: the compressed flag (0) and the 4-byte big-endian length. */
export function frameMessage(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}
const timeoutUnitsMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Wraps the stream listeners of `server`'s HTTP/2 servers; returns how many servers were wrapped. */
export function installFastUnary(server: grpc.Server, options: FastUnaryOptions): number {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return 0;
  let wrapped = 0;
  for (const http2Server of servers.keys()) {
    const marked = http2Server as http2.Http2Server & { aerofnFastUnary?: true };
    if (marked.aerofnFastUnary === true) continue;
    const original = http2Server.listeners('stream') as StreamListener[];
    if (original.length === 0) continue;
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number) => {
      const method = eligible(headers) ? options.methods.get(headers[':path']!) : undefined;
      if (method !== undefined) serveUnary(stream, headers, method as FastUnaryMethod<unknown, unknown>, options);
      else for (const listener of original) listener.call(http2Server, stream, headers, flags);
    });
    marked.aerofnFastUnary = true;
    wrapped++;
  }
  return wrapped;
}

/** Plain gRPC POSTs without request compression; the rest (415s, gzip, …) is grpc-js's business. */
function eligible(headers: http2.IncomingHttpHeaders): boolean {
  const contentType = headers['content-type'];
  const encoding = headers['grpc-encoding'];
  return headers[':method'] === 'POST' && typeof contentType === 'string' && contentType.startsWith('application/grpc') && (encoding === undefined || encoding === 'identity');
}

/** `grpc-timeout` in ms (e.g. "20S", "100m"), or undefined. */
function timeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * timeoutUnitsMs[match[2]!]!;
}

const ignore = (): void => undefined;
const deadlineExceeded: Partial<grpc.StatusObject> = { code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' };

function serveUnary(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, method: FastUnaryMethod<unknown, unknown>, options: FastUnaryOptions): void {
  const call = new UnaryCall(stream, headers, method, options);
  // An error event always comes with a close; without a listener it would throw.
  stream.on('error', ignore);
  stream.on('data', (chunk: Buffer) => call.onData(chunk));
  stream.on('end', () => call.onEnd());
  const deadline = timeoutMs(headers['grpc-timeout']);
  if (deadline !== undefined) call.timer = setTimeout(() => call.finish(deadlineExceeded), deadline);
}

/** One call's state; methods rather than closures, since one is made per call. */
class UnaryCall {
  timer: NodeJS.Timeout | undefined = undefined;
  private done = false;
  private first: Buffer | undefined = undefined;
  private rest: Buffer[] | undefined = undefined;
  private received = 0;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly method: FastUnaryMethod<unknown, unknown>,
    private readonly options: FastUnaryOptions,
  ) {}

  onData(chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.options.maxMessageBytes + 5) {
      // Answered at once; the rest of the body is read and dropped.
      this.finish({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${this.received - 5} vs. ${this.options.maxMessageBytes})` });
      return;
    }
    if (this.first === undefined) this.first = chunk;
    else (this.rest ??= [this.first]).push(chunk);
  }

  onEnd(): void {
    if (this.done) return;
    const message = singleMessage(this.rest === undefined ? this.first : Buffer.concat(this.rest));
    if (typeof message === 'string') {
      this.finish({ code: grpc.status.INTERNAL, details: message });
      return;
    }
    let request: unknown;
    try {
      request = this.method.decode(message);
    } catch (error) {
      this.finish({ code: grpc.status.INTERNAL, details: `Error deserializing request: ${(error as Error).message}` });
      return;
    }
    const authorization = this.headers['authorization'];
    this.method.handle(request, typeof authorization === 'string' ? authorization : undefined).then(
      (response) => this.respond(response),
      (error: unknown) => this.finish(this.options.toStatus(error)),
    );
  }

  private respond(response: unknown): void {
    if (this.done) return;
    let frame: Buffer;
    try {
      frame = this.method.frame(response);
    } catch {
      this.finish({ code: grpc.status.INTERNAL, details: 'Error serializing response' });
      return;
    }
    if (frame.length - 5 > this.options.maxMessageBytes) {
      this.finish({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${frame.length - 5} vs. ${this.options.maxMessageBytes})` });
      return;
    }
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    stream.respond(responseHeaders, { waitForTrailers: true });
    stream.once('wantTrailers', sendOkTrailers);
    stream.end(frame);
  }

  /** Ends the call with a status and no message: a trailers-only response, as grpc-js answers a failed unary call. */
  finish(status: Partial<grpc.StatusObject>): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-status': String(status.code ?? grpc.status.UNKNOWN),
        'grpc-message': encodeURI(status.details ?? ''),
        ...status.metadata?.toHttp2Headers(),
      },
      { endStream: true },
    );
  }
}

/** A 'wantTrailers' listener: `this` is the stream. */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(okTrailers);
}

/** The one uncompressed message of a unary request, or what is wrong with the body. */
function singleMessage(body: Buffer | undefined): Uint8Array | string {
  if (body === undefined || body.length < 5) return 'the request carries no message: a unary call sends exactly one';
  if (body[0] !== 0) return 'a compressed message without a grpc-encoding header';
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return body.length < 5 + length ? 'the request message is cut short' : 'a unary call sends exactly one message';
  return body.subarray(5);
}
