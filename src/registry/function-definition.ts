import type { SandboxLimits } from '../config/index.js';

/** DESIGN §4.1. Everything here is plain data: it is folded from events and sent over the wire. */
export interface RetryPolicy {
  readonly maxAttempts: number; // including the first attempt
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface FunctionConfig extends SandboxLimits {
  readonly allowedHosts: readonly string[];
  readonly allowedEnv: readonly string[];
  readonly verifyJwt: boolean;
  readonly retry: RetryPolicy;
}

export type DatabaseOperation = 'INSERT' | 'UPDATE' | 'DELETE';

/** Lambda-filter-like predicates on the row's columns: all must hold. */
export type FilterPredicate =
  | { readonly column: string; readonly equals: unknown }
  | { readonly column: string; readonly in: readonly unknown[] }
  | { readonly column: string; readonly exists: boolean }
  | { readonly column: string; readonly prefix: string }
  | { readonly column: string; readonly suffix: string }
  | { readonly column: string; readonly anythingBut: readonly unknown[] }
  | { readonly column: string; readonly numeric: readonly [op: '<' | '<=' | '=' | '>=' | '>', value: number] };

export type Trigger =
  | { readonly type: 'http' }
  | { readonly type: 'database'; readonly table: string; readonly operations: readonly DatabaseOperation[]; readonly filter?: readonly FilterPredicate[] }
  | { readonly type: 'schedule'; readonly cron: string; readonly timezone?: string; readonly catchUp?: boolean };

export interface FunctionDefinition {
  readonly id: string; // `${name}@${version}`
  readonly name: string;
  readonly version: number;
  readonly sha256: string;
  readonly config: FunctionConfig;
  readonly triggers: readonly Trigger[];
  readonly enabled: boolean;
  readonly deployedAt: string; // ISO time from the event, never from a local clock
  readonly deployedBy: string | null;
}

/** What the invoker needs from the registry; the in-memory registry and the event-sourced one both provide it. */
export interface FunctionLookup {
  getFunction(name: string): FunctionDefinition | undefined;
  getModule(sha256: string): Promise<Uint8Array>;
  /** Any version ever deployed, for replays that pin an old one (the event-sourced registry keeps them all). */
  getFunctionVersion?(name: string, version: number): FunctionDefinition | undefined;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({ maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 10_000 });
