/**
 * The transport floor for bench/api: a grpc-js server answering Functions/Invoke with the payload
 * as output, same generated codec and the same server options as src/api/grpc, and no AeroDB code
 * (no registry, auth, sandbox or invocation record). Prints its port on stdout; SIGTERM stops it.
 *
 *   node --import tsx bench/api/grpc-floor-server.ts
 */
import * as grpc from '@grpc/grpc-js';
import { FunctionsService, type InvokeRequest, type InvokeResponse } from '../../src/gen/aerodb/functions/v1/functions.js';
import { grpcServerOptions } from '../../src/api/index.js';

const server = new grpc.Server(grpcServerOptions(64 * 1024 * 1024));
const invoke: grpc.handleUnaryCall<InvokeRequest, InvokeResponse> = (call, callback) => {
  callback(null, { invocationId: 'floor', version: 1, output: call.request.payload, durationMs: 0 });
};
// Only Invoke is served; grpc-js answers UNIMPLEMENTED for the methods left out.
server.addService(FunctionsService, { invoke } as unknown as grpc.UntypedServiceImplementation);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) throw error;
  console.log(JSON.stringify({ port }));
});
process.once('SIGTERM', () => server.forceShutdown());
