import type { QueryResult, SqlExecutor } from './database.js';
import type { GuestChannels } from './pglite/thread-channel.js';

/** What an adapter provides; the RLS session, guard and change capture on top are shared (rls-database.ts). */
export interface Driver {
  readonly kind: 'pglite' | 'postgres';
  /** One transaction on one connection; an abort of `signal` cancels the running statement where the engine can. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /**
   * The session setup and one guest statement in one transaction, in as few round trips as the
   * engine allows. `check` runs after the statement and before the commit; an error it returns
   * rolls the statement back (for engines that cannot cancel a running statement themselves —
   * PostgreSQL cancels by statement_timeout and `signal`, and commits with the statement).
   * `deadline` (epoch ms) is for a driver whose `check` cannot run where the statement does.
   */
  sessionQuery(
    setup: { readonly text: string; readonly values: readonly (string | null)[] },
    sql: string,
    params: readonly unknown[],
    options?: {
      signal?: AbortSignal;
      deadline?: number;
      check?: () => Promise<Error | undefined>;
      /** PostgreSQL: rows past this many bytes are read and dropped, and the statement fails with 54000 (QueryOptions.maxAnswerBytes). */
      maxAnswerBytes?: number;
      /**
       * Set for a guest's write under the answer cap: the result is judged before the commit, and
       * past this many bytes of JSON (`refuseLargeAnswer`) the statement is rolled back and fails
       * with 54000. On PostgreSQL it costs the statement a round trip.
       */
      writeAnswerCap?: number;
    },
  ): Promise<QueryResult>;
  /** Single statement outside any explicit transaction, extended protocol. */
  query(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
  /** Several statements, simple protocol, no parameters. */
  script(sql: string): Promise<void>;
  /** Set by the PGlite thread driver (pglite-thread-driver.ts). */
  readonly guestChannels?: GuestChannels;
  /**
   * Settles when the engine stopped for good without close() (PGlite's thread died): every
   * statement fails from then on. Absent where the engine recovers by itself (a pool reconnects).
   */
  readonly failed?: Promise<Error>;
  close(): Promise<void>;
}
