import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { FunctionError, toFunctionError } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import {
  FunctionsService as functionsDefinition,
  InvokeRequest,
  type InvokeResponse,
  type FunctionsServer,
  type ReplayEvent,
  type ReplayRequest,
  type Topology,
} from '../../gen/aerodb/functions/v1/functions.js';
import { authenticate, authenticateServiceRole, type Authenticator } from '../authenticate.js';
import type { FunctionsService } from '../functions-service.js';
import { installFastUnary, type FastUnaryMethod } from './fast-unary.js';
import { frameInvokeResponse } from './invoke-frame.js';
import { fixMapEntryNames } from './reflection-descriptors.js';
import { fromProtoConfig, fromProtoReplayRequest, fromProtoTrigger, toFunctionInfo, toInvocationSummary, toProtoRegistryEvent, toProtoReplayEvent, toProtoTopology } from './grpc-convert.js';

export const grpcServiceName = 'aerodb.functions.v1.Functions';
/** Same depth from src/api/grpc and dist/api/grpc: the .proto ships beside both. */
export const protoPath = fileURLToPath(new URL('../../../proto/aerodb/functions/v1/functions.proto', import.meta.url));

export interface GrpcServerOptions {
  readonly service: FunctionsService;
  readonly auth: Authenticator;
  readonly logger: Logger;
  /** Largest message (a deploy carries the module): the REST body limit, so both accept the same. */
  readonly maxMessageBytes: number;
}

export interface GrpcServer {
  readonly server: grpc.Server;
  /** Binds and starts; resolves the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Health: SERVING once the registry caught up, NOT_SERVING while draining. */
  setServing(serving: boolean): void;
  /** Ends watch streams, waits up to `graceMs` for unary calls in flight, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

const trailerKind = 'aerofn-error-kind';
const trailerCode = 'aerofn-error-code';

function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  const fe = toFunctionError(error);
  const metadata = new grpc.Metadata();
  metadata.set(trailerKind, fe.kind);
  metadata.set(trailerCode, fe.code);
  // A failed invocation is still recorded; its id lets the caller find the record.
  const invocationId = fe.details?.['invocationId'];
  if (typeof invocationId === 'string') metadata.set('aerofn-invocation-id', invocationId);
  return { code: fe.grpcStatus, details: fe.message, metadata };
}

function authorization(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return value === undefined ? undefined : String(value);
}

/** Adapts an async handler to grpc-js' callback style, mapping FunctionErrors to statuses. */
function unary<Req, Res>(logger: Logger, handler: (request: Req, metadata: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request, call.metadata).then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (!(error instanceof FunctionError)) logger.error({ err: error }, 'gRPC call failed');
        callback(toServiceError(error));
      },
    );
  };
}

/** The grpc-js server options (bench/api's transport floor uses the same). */
export function grpcServerOptions(maxMessageBytes: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Channelz keeps per-call and per-socket counters, call traces and a registry entry per
    // connection on every call; nothing here serves the channelz service, so it is cost for nothing.
    'grpc.enable_channelz': 0,
  };
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { service, auth, logger } = options;
  const server = new grpc.Server(grpcServerOptions(options.maxMessageBytes));
  const watchers = new Set<grpc.ServerWritableStream<unknown, Topology>>();
  const requireReady = (): void => {
    if (!service.ready()) throw new FunctionError('Unavailable', 'the registry is still catching up with its log; retry shortly (grpc.health.v1 says when)');
  };

  const invoke = async (request: InvokeRequest, authorizationValue: string | undefined): Promise<InvokeResponse> => {
    requireReady();
    const definition = service.get(request.name);
    const rls = await authenticate(auth, authorizationValue, { optional: !definition.config.verifyJwt });
    const payload = request.payload.trim() === '' ? 'null' : request.payload;
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new FunctionError('BadRequest', `payload is not JSON: ${(error as Error).message}`);
    }
    // Checked just above: the invoker need not parse it again.
    const record = await service.invoke({ functionName: definition.name, payload, payloadIsJson: true, trigger: 'grpc', rls });
    if (!record.outcome.ok) {
      const error = FunctionError.fromJSON(record.outcome.error);
      throw new FunctionError(error.kind, error.message, { details: { invocationId: record.id } });
    }
    return { invocationId: record.id, version: record.version, output: record.outcome.output === '' ? 'null' : record.outcome.output, durationMs: record.durationMs };
  };
  // Invoke is the hot call: plain unary requests skip grpc-js' per-call machinery (fast-unary.ts).
  const fastInvoke: FastUnaryMethod<InvokeRequest, InvokeResponse> = {
    decode: (bytes) => InvokeRequest.decode(bytes),
    frame: frameInvokeResponse,
    handle: (request, authorizationValue) =>
      invoke(request, authorizationValue).catch((error: unknown) => {
        if (!(error instanceof FunctionError)) logger.error({ err: error }, 'gRPC call failed');
        throw error;
      }),
  };
  const fastMethods = new Map([[`/${grpcServiceName}/Invoke`, fastInvoke as FastUnaryMethod<never, never>]]);

  const implementation: FunctionsServer = {
    deploy: unary(logger, async (request, metadata) => {
      const caller = await authenticateServiceRole(auth, authorization(metadata), 'deploying a function');
      requireReady();
      if (request.name === '') throw new FunctionError('BadRequest', 'name is empty');
      if (request.wasm.length === 0) throw new FunctionError('BadRequest', 'wasm is empty: send the module bytes');
      // proto3 cannot tell an empty list from none: no triggers = the registry's default (http).
      const triggers = request.triggers.length === 0 ? undefined : request.triggers.map(fromProtoTrigger);
      const definition = await service.deploy({
        name: request.name,
        wasm: request.wasm,
        config: fromProtoConfig(request.config),
        ...(triggers === undefined ? {} : { triggers }),
        caller,
        ...(request.expectedVersion === undefined ? {} : { expectedVersion: request.expectedVersion }),
      });
      return { function: toFunctionInfo(definition) };
    }),
    getFunction: unary(logger, async (request, metadata) => {
      await authenticate(auth, authorization(metadata));
      return toFunctionInfo(service.get(request.name));
    }),
    listFunctions: unary(logger, async (_request, metadata) => {
      await authenticate(auth, authorization(metadata));
      return { functions: service.list().map(toFunctionInfo), stateHash: service.stateHash() };
    }),
    undeploy: unary(logger, async (request, metadata) => {
      const caller = await authenticateServiceRole(auth, authorization(metadata), 'undeploying a function');
      requireReady();
      const removed = await service.undeploy({ name: request.name, caller, ...(request.expectedVersion === undefined ? {} : { expectedVersion: request.expectedVersion }) });
      return { name: removed.name, version: removed.version };
    }),
    invoke: unary(logger, (request, metadata) => invoke(request, authorization(metadata))),
    describeTopology: unary(logger, async (_request, metadata) => {
      await authenticate(auth, authorization(metadata));
      return toProtoTopology(await service.topology());
    }),
    watchTopology: (call) => {
      authenticate(auth, authorization(call.metadata)).then(
        () => {
          const intervalMs = Math.max(100, call.request.intervalMs === 0 ? 1000 : call.request.intervalMs);
          const send = (): void => {
            service.topology().then(
              (snapshot) => call.write(toProtoTopology(snapshot)),
              (error: unknown) => logger.warn({ err: error }, 'topology snapshot failed'),
            );
          };
          send();
          const timer = setInterval(send, intervalMs);
          const stop = (): void => {
            clearInterval(timer);
            watchers.delete(call as grpc.ServerWritableStream<unknown, Topology>);
          };
          watchers.add(call as grpc.ServerWritableStream<unknown, Topology>);
          call.on('cancelled', stop);
          call.on('close', stop);
          call.on('error', stop);
        },
        // An 'error' event is how grpc-js ends a server stream with a status (destroy() would send none).
        (error: unknown) => call.emit('error', toServiceError(error)),
      );
    },
    registryHistory: unary(logger, async (request, metadata) => {
      await authenticateServiceRole(auth, authorization(metadata), 'reading the registry history');
      const entries = await service.registryHistory({ ...(request.name === '' ? {} : { name: request.name }), ...(request.limit === 0 ? {} : { limit: request.limit }) });
      return { events: entries.map(toProtoRegistryEvent) };
    }),
    listInvocations: unary(logger, async (request, metadata) => {
      await authenticateServiceRole(auth, authorization(metadata), 'reading invocation records');
      if (request.limit > 1000) throw new FunctionError('BadRequest', `limit must be 1-1000 (0 = 20), got ${request.limit}`);
      service.get(request.name);
      const records = await service.invocations(request.name, request.limit === 0 ? 20 : request.limit);
      return { invocations: records.map(toInvocationSummary) };
    }),
    replay: (call: grpc.ServerWritableStream<ReplayRequest, ReplayEvent>) => {
      // Cancelling the call (the CLI's Ctrl-C) stops the replay between records.
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      (async () => {
        await authenticateServiceRole(auth, authorization(call.metadata), 'replaying invocations');
        requireReady();
        const query = fromProtoReplayRequest(call.request);
        await service.replay(query, (event) => call.write(toProtoReplayEvent(event)), cancelled.signal);
      })().then(
        () => call.end(),
        (error: unknown) => {
          if (cancelled.signal.aborted) return;
          if (!(error instanceof FunctionError)) logger.error({ err: error }, 'gRPC replay failed');
          call.emit('error', toServiceError(error));
        },
      );
    },
    registryAt: unary(logger, async (request, metadata) => {
      await authenticateServiceRole(auth, authorization(metadata), 'reading the registry at a point');
      const point = request.point;
      if (point === undefined) throw new FunctionError('BadRequest', 'set offset or time');
      const snapshot = await service.registryAt(point.$case === 'offset' ? { offset: point.value } : { time: point.value });
      return { functions: snapshot.functions.map(toFunctionInfo), stateHash: snapshot.stateHash, throughOffset: snapshot.throughOffset };
    }),
  };
  server.addService(functionsDefinition, implementation);

  const health = new HealthImplementation({ '': 'NOT_SERVING', [grpcServiceName]: 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection reads the same .proto the code was generated from, so grpcurl needs no local copy.
  // The health proto is included so that `grpcurl list` and `describe` show it as well.
  const packageDefinition = loadSync([protoPath, healthProtoPath], { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  new ReflectionService(fixMapEntryNames(packageDefinition)).addToServer(server);

  return {
    server,
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
          if (error !== null) {
            reject(new FunctionError('Unavailable', `cannot listen for gRPC on ${host}:${port}: ${error.message}; set AEROFN_GRPC_PORT to a free port`));
            return;
          }
          if (installFastUnary(server, { methods: fastMethods, maxMessageBytes: options.maxMessageBytes, toStatus: toServiceError }) === 0) {
            logger.warn('the gRPC fast path for Invoke is off: this grpc-js version keeps its HTTP/2 servers elsewhere; calls take the grpc-js path');
          }
          resolve(boundPort);
        });
      }),
    setServing(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(grpcServiceName, status);
    },
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        for (const call of watchers) call.end();
        watchers.clear();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
