import type { MessagePort } from 'node:worker_threads';
import type { QueryResult } from '../database.js';

/** What the PGlite thread gets at start. */
export interface ThreadInit {
  readonly bell: SharedArrayBuffer;
  /** The main thread's channel (id 0) and its port. */
  readonly channel: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly options: { readonly dataDir?: string; readonly preparedStatements?: number };
  /** Guests' db_query: the largest answer they get (QueryOptions.maxAnswerBytes). */
  readonly maxAnswerBytes?: number;
}

/** main → thread over the worker's own port, announced by Bell.CONTROL: sandbox workers' channels. */
export type ThreadControl =
  | { readonly type: 'open'; readonly id: number; readonly channel: SharedArrayBuffer; readonly port: MessagePort }
  | { readonly type: 'close'; readonly id: number };

/** A main-thread request (v8-serialized into its channel). */
export type ThreadCall =
  | { readonly kind: 'query' | 'tx-query'; readonly sql: string; readonly params: readonly unknown[] }
  | { readonly kind: 'script'; readonly sql: string }
  | {
      readonly kind: 'session';
      readonly setup: { readonly text: string; readonly values: readonly (string | null)[] };
      readonly sql: string;
      readonly params: readonly unknown[];
      readonly deadline: number | undefined;
      readonly writeAnswerCap: number | undefined;
    }
  | { readonly kind: 'begin' | 'commit' | 'rollback' | 'close' };

export type ThreadReply =
  | { readonly ok: true; readonly value: QueryResult | undefined }
  | { readonly ok: false; readonly message: string; readonly code?: string };
