import * as grpc from '@grpc/grpc-js';
import { FunctionError, isFunctionErrorKind, type FunctionErrorKind } from '../../errors/index.js';
import {
  FunctionsClient,
  type DeployRequest,
  type DeployResponse,
  type FunctionInfo,
  type InvokeResponse,
  type ListFunctionsResponse,
  type ListInvocationsResponse,
  type RegistryAtResponse,
  type RegistryHistoryResponse,
  type ReplayEvent,
  type ReplayRequest,
  type Topology,
  type UndeployResponse,
} from '../../gen/aerodb/functions/v1/functions.js';

export interface FunctionsApiClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  readonly maxMessageBytes?: number;
  /** Per-call deadline; undefined = none. */
  readonly deadlineMs?: number;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
}

/**
 * The generated client with promises, the bearer token on every call, and errors rebuilt as
 * FunctionErrors from the `aerofn-error-kind` trailer. Used by the CLI, the tests and bench/api.
 * (grpc-js refuses call credentials on a plaintext channel, so the token travels as metadata.)
 */
export class FunctionsApiClient {
  readonly raw: FunctionsClient;
  private readonly token: string | undefined;
  private readonly deadlineMs: number | undefined;

  constructor(readonly address: string, options: FunctionsApiClientOptions = {}) {
    const limit = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.raw = new FunctionsClient(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': limit,
      'grpc.max_send_message_length': limit,
      ...options.channelOptions,
    });
    this.token = options.token === '' ? undefined : options.token;
    this.deadlineMs = options.deadlineMs;
  }

  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  private call<Res>(start: (metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
    const options: Partial<grpc.CallOptions> = this.deadlineMs === undefined ? {} : { deadline: Date.now() + this.deadlineMs };
    return new Promise((resolve, reject) => {
      start(this.metadata(), options, (error, response) => (error === null ? resolve(response) : reject(fromServiceError(error, this.address))));
    });
  }

  deploy(request: DeployRequest): Promise<DeployResponse> {
    return this.call((m, o, cb) => this.raw.deploy(request, m, o, cb));
  }
  getFunction(name: string): Promise<FunctionInfo> {
    return this.call((m, o, cb) => this.raw.getFunction({ name }, m, o, cb));
  }
  listFunctions(): Promise<ListFunctionsResponse> {
    return this.call((m, o, cb) => this.raw.listFunctions({}, m, o, cb));
  }
  undeploy(name: string, expectedVersion?: number): Promise<UndeployResponse> {
    return this.call((m, o, cb) => this.raw.undeploy({ name, ...(expectedVersion === undefined ? {} : { expectedVersion }) }, m, o, cb));
  }
  invoke(name: string, payload: string): Promise<InvokeResponse> {
    return this.call((m, o, cb) => this.raw.invoke({ name, payload }, m, o, cb));
  }
  describeTopology(): Promise<Topology> {
    return this.call((m, o, cb) => this.raw.describeTopology({}, m, o, cb));
  }
  /** Yields snapshots until `signal` aborts or the server ends the stream. */
  watchTopology(intervalMs: number, signal?: AbortSignal): AsyncGenerator<Topology> {
    return this.streamed<Topology>(this.raw.watchTopology({ intervalMs }, this.metadata()), signal);
  }
  /** Yields the replay's events (started, a finding per record, summary) until it ends or `signal` aborts. */
  replay(request: ReplayRequest, signal?: AbortSignal): AsyncGenerator<ReplayEvent> {
    return this.streamed<ReplayEvent>(this.raw.replay(request, this.metadata()), signal);
  }
  /** A server stream's messages; cancelling (by `signal`) ends it quietly, other failures throw as FunctionErrors. */
  private async *streamed<T>(stream: grpc.ClientReadableStream<unknown>, signal: AbortSignal | undefined): AsyncGenerator<T> {
    const abort = (): void => stream.cancel();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const message of stream) yield message as T;
    } catch (error) {
      const serviceError = error as grpc.ServiceError;
      if (serviceError.code !== grpc.status.CANCELLED) throw fromServiceError(serviceError, this.address);
    } finally {
      signal?.removeEventListener('abort', abort);
      stream.cancel();
    }
  }
  registryHistory(name: string, limit: number): Promise<RegistryHistoryResponse> {
    return this.call((m, o, cb) => this.raw.registryHistory({ name, limit }, m, o, cb));
  }
  listInvocations(name: string, limit: number): Promise<ListInvocationsResponse> {
    return this.call((m, o, cb) => this.raw.listInvocations({ name, limit }, m, o, cb));
  }
  registryAt(point: { offset: number } | { time: string }): Promise<RegistryAtResponse> {
    const request = 'offset' in point ? { point: { $case: 'offset' as const, value: point.offset } } : { point: { $case: 'time' as const, value: point.time } };
    return this.call((m, o, cb) => this.raw.registryAt(request, m, o, cb));
  }
  close(): void {
    this.raw.close();
  }
}

export function fromServiceError(error: grpc.ServiceError, address = 'the server'): FunctionError {
  const kind = String(error.metadata?.get('aerofn-error-kind')[0] ?? '');
  if (isFunctionErrorKind(kind)) return new FunctionError(kind, error.details, { cause: error });
  const byStatus: Partial<Record<grpc.status, FunctionErrorKind>> = {
    [grpc.status.DEADLINE_EXCEEDED]: 'Timeout',
    [grpc.status.UNAUTHENTICATED]: 'Unauthorized',
    [grpc.status.PERMISSION_DENIED]: 'Forbidden',
    [grpc.status.NOT_FOUND]: 'NotFound',
    [grpc.status.INVALID_ARGUMENT]: 'BadRequest',
  };
  if (error.code === grpc.status.UNAVAILABLE) {
    return new FunctionError('Unavailable', `cannot reach the AeroDB Functions server at ${address} (${error.details}); start it with \`make run\` or \`aerofn serve\`, or point AEROFN_URL at it`, { cause: error });
  }
  const mapped = byStatus[error.code];
  if (mapped !== undefined) return new FunctionError(mapped, error.details, { cause: error });
  return new FunctionError('RuntimePanic', `${grpc.status[error.code] ?? error.code}: ${error.details}`, { cause: error });
}

export type {
  DeployRequest as DeployRequestMessage,
  FunctionConfig as FunctionConfigMessage,
  FunctionInfo as FunctionInfoMessage,
  RegistryEvent as RegistryEventMessage,
  Topology as TopologyMessage,
  Trigger as TriggerMessage,
} from '../../gen/aerodb/functions/v1/functions.js';
