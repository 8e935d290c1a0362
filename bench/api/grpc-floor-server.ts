/**
 * The transport floor for bench/api: a grpc-js server answering Functions/Invoke with the payload
 * as output, same generated codec and the same server options as src/api/grpc, and no AeroDB code
 * (no registry, auth, sandbox or invocation record). With `--fast`, Invoke takes the fast unary
 * path that src/api/grpc puts on its server (fast-unary.ts), so the two rows show what that saves.
 * Prints its port on stdout; SIGTERM stops it.
 *
 *   node --import tsx --import ./bench/use-compiled.mjs bench/api/grpc-floor-server.ts [--fast]
 */
import * as grpc from '@grpc/grpc-js';
import { FunctionsService, InvokeRequest, type InvokeResponse } from '../../src/gen/aerodb/functions/v1/functions.js';
import { frameInvokeResponse, grpcServerOptions, installFastUnary, type FastUnaryMethod } from '../../src/api/index.js';

const maxMessageBytes = 64 * 1024 * 1024;
const answer = (request: InvokeRequest): InvokeResponse => ({ invocationId: 'floor', version: 1, output: request.payload, durationMs: 0 });
const server = new grpc.Server(grpcServerOptions(maxMessageBytes));
const invoke: grpc.handleUnaryCall<InvokeRequest, InvokeResponse> = (call, callback) => callback(null, answer(call.request));
// Only Invoke is served; grpc-js answers UNIMPLEMENTED for the methods left out.
server.addService(FunctionsService, { invoke } as unknown as grpc.UntypedServiceImplementation);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) throw error;
  if (process.argv.includes('--fast')) {
    const fast: FastUnaryMethod<InvokeRequest, InvokeResponse> = {
      decode: (bytes) => InvokeRequest.decode(bytes),
      frame: frameInvokeResponse,
      handle: (request) => Promise.resolve(answer(request)),
    };
    const methods = new Map([['/aerodb.functions.v1.Functions/Invoke', fast as FastUnaryMethod<never, never>]]);
    if (installFastUnary(server, { methods, maxMessageBytes, toStatus: () => ({ code: grpc.status.INTERNAL }) }) === 0) throw new Error('the fast path found no HTTP/2 server');
  }
  console.log(JSON.stringify({ port }));
});
process.once('SIGTERM', () => server.forceShutdown());
