import { errorTable, functionErrorKinds, type FunctionErrorKind } from './error-table.js';

export interface FunctionErrorJson {
  kind: FunctionErrorKind;
  code: string;
  httpStatus: number;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The one error type that crosses domain boundaries. `message` is written for the person who
 * reads it: what happened and, where we know it, what to do next.
 */
export class FunctionError extends Error {
  readonly kind: FunctionErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: FunctionErrorKind, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FunctionError';
    this.kind = kind;
    this.details = options.details;
  }

  get code(): string {
    return errorTable[this.kind].code;
  }

  get httpStatus(): number {
    return errorTable[this.kind].http;
  }

  get grpcStatus(): number {
    return errorTable[this.kind].grpc;
  }

  get retriable(): boolean {
    return errorTable[this.kind].retriable;
  }

  toJSON(): FunctionErrorJson {
    const json: FunctionErrorJson = { kind: this.kind, code: this.code, httpStatus: this.httpStatus, message: this.message };
    if (this.details !== undefined) json.details = this.details;
    return json;
  }

  /** Rebuilds an error that crossed a thread or a wire as JSON. */
  static fromJSON(json: { kind: string; message: string; details?: Record<string, unknown> }): FunctionError {
    const kind = isFunctionErrorKind(json.kind) ? json.kind : 'RuntimePanic';
    return new FunctionError(kind, json.message, json.details === undefined ? {} : { details: json.details });
  }
}

export function isFunctionErrorKind(value: unknown): value is FunctionErrorKind {
  return typeof value === 'string' && (functionErrorKinds as readonly string[]).includes(value);
}

export function isFunctionError(value: unknown): value is FunctionError {
  return value instanceof FunctionError;
}

/** Wraps anything thrown into a FunctionError, keeping FunctionErrors as they are. */
export function toFunctionError(error: unknown, fallback: FunctionErrorKind = 'RuntimePanic'): FunctionError {
  if (error instanceof FunctionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FunctionError(fallback, message, { cause: error });
}
