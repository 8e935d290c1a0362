import type { RlsContext } from '../auth/index.js';
import type { FunctionConfig } from '../registry/index.js';
import type { Logger } from '../observability/index.js';

/**
 * A host function runs on the main thread while the guest waits in its worker. It gets the
 * request bytes the guest passed (UTF-8 JSON by the ABI) and answers bytes for the guest, or null
 * for "0" (unset / nothing). Refusals are answers too (`{"error":{…}}`), so a guest can recover;
 * a thrown error ends the invocation as HostFunctionError.
 */
export interface HostCallContext {
  readonly invocationId: string;
  readonly functionName: string;
  readonly version: number;
  readonly config: FunctionConfig;
  readonly rls: RlsContext;
  /** Aborted when the invocation times out or ends: pending I/O must stop. */
  readonly signal: AbortSignal;
  /** Epoch ms by which the invocation must end. */
  readonly deadline: number;
  readonly logger: Logger;
  /** How deep in a chain of function-caused changes this invocation is (loop guard). */
  readonly triggerDepth: number;
  /** The function's secrets for `env` (allowedEnv still applies); never logged or journaled. */
  readonly secrets?: Readonly<Record<string, string>>;
}

export type HostFunction = (request: Uint8Array, context: HostCallContext) => Promise<Uint8Array | string | null>;

/** The host imports that reach outside the sandbox; `log` and `context` are the sandbox's own. */
export type HostFunctionName = 'db_query' | 'http_fetch' | 'env';

export type HostFunctions = Partial<Record<HostFunctionName, HostFunction>>;

/** One entry of an invocation's journal: enough to replay the run without the outside world. */
export interface HostCallRecord {
  readonly seq: number;
  readonly fn: HostFunctionName | 'log' | 'context';
  readonly request: string;
  /** null when the host answered "0" (unset / nothing). */
  readonly response: string | null;
  readonly startedAt: number;
  readonly durationMs: number;
  /** Set when the host call threw instead of answering. */
  readonly error?: string;
}

/** What a journal entry shows instead of an env value: journals never hold secrets. */
export const REDACTED_RESPONSE = '[redacted]';
