import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * Every way a request or an invocation can fail, with the one status mapping the REST API, the
 * gRPC API, the stream processor (retries) and the CLI all read. Adding a kind without a row here
 * is a compile error; a row without a section in docs/errors.md fails test/unit/errors.
 */
export const functionErrorKinds = [
  'NotFound',
  'InvalidWasm',
  'Timeout',
  'OutOfMemory',
  'StackOverflow',
  'HostFunctionError',
  'RuntimePanic',
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'Conflict',
  'PayloadTooLarge',
  'Unavailable',
] as const;

export type FunctionErrorKind = (typeof functionErrorKinds)[number];

export interface StatusMapping {
  /** Stable machine-readable code, in the spirit of fastify's FST_ERR_* codes. */
  readonly code: string;
  readonly http: number;
  readonly grpc: GrpcStatus;
  /** Whether trying the same thing again may succeed (kafkajs' `retriable`). */
  readonly retriable: boolean;
}

export const errorTable = {
  NotFound: { code: 'AEROFN_NOT_FOUND', http: 404, grpc: GrpcStatus.NOT_FOUND, retriable: false },
  InvalidWasm: { code: 'AEROFN_INVALID_WASM', http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  Timeout: { code: 'AEROFN_TIMEOUT', http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, retriable: true },
  OutOfMemory: { code: 'AEROFN_OUT_OF_MEMORY', http: 507, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: false },
  StackOverflow: { code: 'AEROFN_STACK_OVERFLOW', http: 500, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: false },
  HostFunctionError: { code: 'AEROFN_HOST_FUNCTION_ERROR', http: 500, grpc: GrpcStatus.INTERNAL, retriable: true },
  RuntimePanic: { code: 'AEROFN_RUNTIME_PANIC', http: 500, grpc: GrpcStatus.INTERNAL, retriable: false },
  BadRequest: { code: 'AEROFN_BAD_REQUEST', http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  Unauthorized: { code: 'AEROFN_UNAUTHORIZED', http: 401, grpc: GrpcStatus.UNAUTHENTICATED, retriable: false },
  Forbidden: { code: 'AEROFN_FORBIDDEN', http: 403, grpc: GrpcStatus.PERMISSION_DENIED, retriable: false },
  Conflict: { code: 'AEROFN_CONFLICT', http: 409, grpc: GrpcStatus.ABORTED, retriable: false },
  PayloadTooLarge: { code: 'AEROFN_PAYLOAD_TOO_LARGE', http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: false },
  Unavailable: { code: 'AEROFN_UNAVAILABLE', http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
} as const satisfies Record<FunctionErrorKind, StatusMapping>;

export function statusOf(kind: FunctionErrorKind): StatusMapping {
  return errorTable[kind];
}
