import type { RlsContext } from '../auth/index.js';
import type { FunctionErrorJson } from '../errors/index.js';
import type { HostCallRecord } from '../wasm/index.js';

export type TriggerType = 'http' | 'grpc' | 'cli' | 'database' | 'schedule' | 'replay';

export interface SourcePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface InvokeRequest {
  readonly functionName: string;
  /** UTF-8 JSON text handed to the guest as its input. */
  readonly payload: string;
  /**
   * The caller serialised `payload` itself (JSON.stringify), so the invoker skips checking that
   * it parses (the pipeline sets it: re-parsing every change event cost ~1 µs of the main thread).
   */
  readonly payloadIsJson?: boolean;
  readonly trigger: TriggerType;
  readonly rls: RlsContext;
  /** Stable id from the caller (the pipeline derives it from the source position); else a random one. */
  readonly invocationId?: string;
  readonly attempt?: number;
  readonly source?: SourcePosition;
  readonly triggerDepth?: number;
  /** Pin a version instead of the current one (replay). */
  readonly version?: number;
  /**
   * Replay: the guest sees this context (the recorded run's: its id, time, trigger and caller)
   * instead of one made now, so a deterministic function takes the same path again.
   */
  readonly context?: GuestContext;
}

/** What `context()` returns to the guest (DESIGN §4.2). */
export interface GuestContext {
  readonly invocationId: string;
  readonly function: string;
  readonly version: number;
  readonly trigger: TriggerType;
  readonly role: string;
  readonly sub: string | null;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly attempt: number;
  readonly now: number;
}

export type InvocationOutcome =
  | { readonly ok: true; readonly output: string }
  | { readonly ok: false; readonly error: FunctionErrorJson };

/** DESIGN §4.6 `aerofn.invocations`: one per invocation, success or failure. */
export interface InvocationRecord {
  readonly id: string;
  readonly function: string;
  readonly version: number;
  readonly sha256: string;
  readonly trigger: TriggerType;
  readonly source: SourcePosition | null;
  readonly input: string;
  readonly context: GuestContext;
  readonly journal: readonly HostCallRecord[];
  readonly outcome: InvocationOutcome;
  readonly attempt: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly memoryBytes: number;
}

export interface Invoker {
  /**
   * Runs one invocation. Guest failures (Timeout, OutOfMemory, …) come back as a record with
   * `outcome.ok === false`; only failures before the guest runs (NotFound, BadRequest) reject.
   */
  invoke(request: InvokeRequest): Promise<InvocationRecord>;
  /**
   * invoke() without Promises (optional; the pipeline uses it when present): `done` is called
   * once, always asynchronously, with the record, or with the error invoke() would reject with.
   * Results that arrive together are delivered together in one microtask.
   */
  invokeWith?(request: InvokeRequest, done: InvokeCallback): void;
  close(): Promise<void>;
}

export type InvokeCallback = (record: InvocationRecord | undefined, error: unknown) => void;
