import type { RlsContext } from '../auth/index.js';
import type { GuestChannels } from './pglite/thread-channel.js';

/** Rows come back as plain JSON-ready objects: int8/numeric as strings, timestamps as ISO strings, bytea as `\x…` hex. */
export type Row = Record<string, unknown>;

export interface QueryResult {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface QueryOptions {
  /** Aborting cancels the statement (PostgreSQL) or discards and rolls it back (PGlite; see docs/database.md). */
  readonly signal?: AbortSignal;
  /** Epoch ms after which the statement must not run; becomes the transaction's statement_timeout. */
  readonly deadline?: number;
  /** Depth of the invocation issuing the statement; captured changes carry depth + 1. */
  readonly triggerDepth?: number;
  /**
   * A guest's statement: the largest answer it may get, in bytes. Past it the statement fails
   * with SQLSTATE 54000; on PostgreSQL the rows past it are read and dropped, so the answer never
   * takes more memory than that (docs/database.md).
   */
  readonly maxAnswerBytes?: number;
}

/** Runs single statements with bound parameters inside an owner transaction. */
export interface SqlExecutor {
  query(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
}

/** One row of the change outbox, as the relay reads it (commit order = id order). */
export interface CapturedChange {
  readonly id: string;
  readonly txId: string;
  readonly schema: string;
  readonly table: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly row: Row | null;
  readonly old: Row | null;
  readonly claims: Record<string, unknown> | null;
  readonly triggerDepth: number;
  readonly commitTs: number;
}

/**
 * The Database port. `query` is what guests reach through db_query: one statement, its own
 * transaction, `set local role` + request.jwt.claims from the RlsContext, parameters always bound.
 * The rest runs as the owner (the connecting user) and is for the service itself: migrations,
 * change capture, tests.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  query(sql: string, params: readonly unknown[], rls: RlsContext, options?: QueryOptions): Promise<QueryResult>;
  /** One statement as the owner, no RLS. */
  admin(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
  /** Several statements (a migration script) as the owner, no parameters. */
  adminScript(sql: string): Promise<void>;
  /** An owner transaction: committed when `fn` resolves, rolled back when it throws. */
  adminTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Installs the capture trigger on a table (`name` or `schema.name`); idempotent. */
  enableChangeCapture(table: string): Promise<void>;
  disableChangeCapture(table: string): Promise<void>;
  /** PGlite on its own thread: channels for sandbox workers to run guests' db_query there directly. */
  readonly guestChannels?: GuestChannels;
  /**
   * Settles when the database stopped for good without close() (PGlite's thread died, e.g. of an
   * answer past AEROFN_PGLITE_HEAP_MB); never for PostgreSQL, whose pool reconnects. The service
   * treats it as fatal: it drains and exits so that a supervisor restarts it (main.ts).
   */
  readonly failed: Promise<Error>;
  close(): Promise<void>;
}

/** A failed statement: SQLSTATE `code` when the database gave one. */
export class DatabaseError extends Error {
  constructor(message: string, readonly code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/** SQLSTATE of a cancelled statement; we use it for deadline and abort too. */
export const queryCanceledCode = '57014';
