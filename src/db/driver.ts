import type { QueryResult, SqlExecutor } from './database.js';

/** What an adapter provides; the RLS session, guard and change capture on top are shared (rls-database.ts). */
export interface Driver {
  readonly kind: 'pglite' | 'postgres';
  /** One transaction on one connection; an abort of `signal` cancels the running statement where the engine can. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /**
   * Optional fast path: the session setup and one statement in a single implicit transaction and
   * one round trip (PostgreSQL's extended protocol). Without it, `transaction` is used.
   */
  sessionQuery?(
    setup: { readonly text: string; readonly values: readonly (string | null)[] },
    sql: string,
    params: readonly unknown[],
    options?: { signal?: AbortSignal },
  ): Promise<QueryResult>;
  /** Single statement outside any explicit transaction, extended protocol. */
  query(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
  /** Several statements, simple protocol, no parameters. */
  script(sql: string): Promise<void>;
  close(): Promise<void>;
}
