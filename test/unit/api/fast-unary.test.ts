import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { frameMessage, grpcServerOptions, installFastUnary, type FastUnaryMethod } from '../../../src/api/index.js';
import { FunctionError, toFunctionError } from '../../../src/errors/index.js';
import { FunctionInfo, FunctionsClient, FunctionsService, InvokeRequest, InvokeResponse } from '../../../src/gen/aerodb/functions/v1/functions.js';

const invokePath = '/aerodb.functions.v1.Functions/Invoke';
const maxMessageBytes = 1024;

/** A real grpc-js server whose own Invoke answers "grpc-js", and a fast Invoke answering "fast". */
describe('fast unary path on the grpc-js server', () => {
  let server: grpc.Server;
  let address: string;
  let client: FunctionsClient;
  const seen: { name: string; authorization: string | undefined }[] = [];

  const fast: FastUnaryMethod<InvokeRequest, InvokeResponse> = {
    decode: (bytes) => InvokeRequest.decode(bytes),
    frame: (response) => frameMessage(InvokeResponse.encode(response).finish()),
    async handle(request, authorization) {
      seen.push({ name: request.name, authorization });
      if (request.name === 'missing') throw new FunctionError('NotFound', 'no function named "missing"');
      if (request.name === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000));
      if (request.name === 'huge') return { invocationId: 'x'.repeat(2 * maxMessageBytes), version: 1, output: '', durationMs: 0 };
      return { invocationId: 'id-1', version: 7, output: JSON.stringify({ path: 'fast', payload: request.payload }), durationMs: 1.5 };
    },
  };
  const toStatus = (error: unknown): Partial<grpc.StatusObject> => {
    const fe = toFunctionError(error);
    const metadata = new grpc.Metadata();
    metadata.set('aerofn-error-kind', fe.kind);
    return { code: fe.grpcStatus, details: fe.message, metadata };
  };

  before(async () => {
    server = new grpc.Server(grpcServerOptions(maxMessageBytes));
    server.addService(FunctionsService, {
      invoke: (call: grpc.ServerUnaryCall<InvokeRequest, InvokeResponse>, callback: grpc.sendUnaryData<InvokeResponse>) =>
        callback(null, { invocationId: 'id-2', version: 1, output: JSON.stringify({ path: 'grpc-js', payload: call.request.payload }), durationMs: 0 }),
      getFunction: (_call: grpc.ServerUnaryCall<unknown, FunctionInfo>, callback: grpc.sendUnaryData<FunctionInfo>) => callback(null, FunctionInfo.fromPartial({ name: 'from grpc-js' })),
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    assert.equal(installFastUnary(server, { methods: new Map([[invokePath, fast as FastUnaryMethod<never, never>]]), maxMessageBytes, toStatus }), 1, 'the grpc-js HTTP/2 server was found and wrapped');
    address = `127.0.0.1:${port}`;
    client = new FunctionsClient(address, grpc.credentials.createInsecure());
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  const invoke = (c: FunctionsClient, request: Partial<InvokeRequest>, metadata = new grpc.Metadata(), options: Partial<grpc.CallOptions> = {}) =>
    new Promise<InvokeResponse>((resolve, reject) => c.invoke({ name: 'echo', payload: '{}', ...request }, metadata, options, (error, response) => (error === null ? resolve(response) : reject(error))));

  it('answers Invoke on the fast path, with the metadata the handler needs', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer abc');
    const response = await invoke(client, { name: 'echo', payload: '{"n":1}' }, metadata);
    assert.deepEqual(JSON.parse(response.output), { path: 'fast', payload: '{"n":1}' });
    assert.equal(response.invocationId, 'id-1');
    assert.equal(response.version, 7);
    assert.equal(response.durationMs, 1.5);
    assert.deepEqual(seen.at(-1), { name: 'echo', authorization: 'Bearer abc' });
  });

  it('maps a rejection to its status and trailing metadata', async () => {
    const error = await invoke(client, { name: 'missing' }).then(
      () => assert.fail('expected NOT_FOUND'),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(error.code, grpc.status.NOT_FOUND);
    assert.equal(error.details, 'no function named "missing"');
    assert.deepEqual(error.metadata.get('aerofn-error-kind'), ['NotFound']);
  });

  it('leaves other methods and compressed requests to grpc-js', async () => {
    const info = await new Promise<FunctionInfo>((resolve, reject) => client.getFunction({ name: 'x' }, (error, response) => (error === null ? resolve(response) : reject(error))));
    assert.equal(info.name, 'from grpc-js');
    const gzip = new FunctionsClient(address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    try {
      const response = await invoke(gzip, { payload: '{"z":true}' });
      assert.deepEqual(JSON.parse(response.output), { path: 'grpc-js', payload: '{"z":true}' });
    } finally {
      gzip.close();
    }
  });

  it('refuses a response larger than the limit with RESOURCE_EXHAUSTED', async () => {
    await assert.rejects(invoke(client, { name: 'huge' }), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
  });

  /** Raw HTTP/2 exchanges for what the grpc-js client never sends. */
  async function rawCall(body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: string | undefined; message: string | undefined; data: Buffer }> {
    const session = http2.connect(`http://${address}`);
    try {
      const stream = session.request({ ':method': 'POST', ':path': invokePath, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      const chunks: Buffer[] = [];
      let final: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) final = h; // trailers-only
      });
      stream.on('trailers', (t) => (final = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.end(body);
      await new Promise((resolve) => stream.on('close', resolve));
      return { status: final['grpc-status'] as string | undefined, message: final['grpc-message'] as string | undefined, data: Buffer.concat(chunks) };
    } finally {
      session.close();
    }
  }
  const framed = (message: Uint8Array): Buffer => Buffer.concat([Buffer.from([0, ...[24, 16, 8, 0].map((shift) => (message.length >>> shift) & 0xff)]), message]);
  const echoRequest = InvokeRequest.encode({ name: 'echo', payload: '{}' }).finish();

  it('answers a well-formed raw call with one framed message and grpc-status 0', async () => {
    const result = await rawCall(framed(echoRequest));
    assert.equal(result.status, '0');
    assert.equal(result.data.readUInt32BE(1), result.data.length - 5);
    assert.deepEqual(JSON.parse(InvokeResponse.decode(result.data.subarray(5)).output), { path: 'fast', payload: '{}' });
  });

  it('refuses two messages, a cut message, no message and an oversized one', async () => {
    assert.equal((await rawCall(Buffer.concat([framed(echoRequest), framed(echoRequest)]))).status, String(grpc.status.INTERNAL));
    assert.equal((await rawCall(framed(echoRequest).subarray(0, 8))).status, String(grpc.status.INTERNAL));
    assert.equal((await rawCall(Buffer.alloc(0))).status, String(grpc.status.INTERNAL));
    const big = InvokeRequest.encode({ name: 'echo', payload: JSON.stringify('y'.repeat(2 * maxMessageBytes)) }).finish();
    assert.equal((await rawCall(framed(big))).status, String(grpc.status.RESOURCE_EXHAUSTED));
  });

  it('honours grpc-timeout with DEADLINE_EXCEEDED from the server', async () => {
    const started = Date.now();
    const result = await rawCall(framed(InvokeRequest.encode({ name: 'slow', payload: '{}' }).finish()), { 'grpc-timeout': '100m' });
    assert.equal(result.status, String(grpc.status.DEADLINE_EXCEEDED));
    assert.ok(Date.now() - started < 1500, 'answered at the deadline, not when the handler finished');
  });
});
