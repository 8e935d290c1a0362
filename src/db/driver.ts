import type { QueryResult, SqlExecutor } from './database.js';

/** What an adapter provides; the RLS session, guard and change capture on top are shared (rls-database.ts). */
export interface Driver {
  readonly kind: 'pglite' | 'postgres';
  /** One transaction on one connection; an abort of `signal` cancels the running statement where the engine can. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /** Single statement outside any explicit transaction, extended protocol. */
  query(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
  /** Several statements, simple protocol, no parameters. */
  script(sql: string): Promise<void>;
  close(): Promise<void>;
}
