import pg from 'pg';
import type { Logger } from '../../observability/index.js';
import type { QueryResult } from '../database.js';
import type { Driver } from '../driver.js';
import { refuseLargeAnswer } from '../guest-request.js';
import { normalizeParams, normalizeRows } from '../values.js';
import { isStalePlan } from '../prepared-statements.js';
import { sessionQuery } from './session-query.js';

type Client = pg.PoolClient & { processID?: number | null };

function toResult(result: pg.QueryResult): QueryResult {
  const rows = normalizeRows(result.rows as Record<string, unknown>[]);
  return { rows, rowCount: result.rowCount ?? rows.length };
}

async function run(client: pg.ClientBase, sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
  // Always the extended protocol: exactly one statement, parameters bound by the server.
  return toResult(await client.query({ text: sql, values: normalizeParams(params), queryMode: 'extended' } as pg.QueryConfig));
}

/** A database error leaves the connection usable; anything else (a broken socket) does not. */
const isServerError = (error: unknown): boolean => typeof (error as { code?: unknown } | null)?.code === 'string' && /^[0-9A-Z]{5}$/.test((error as { code: string }).code);

/**
 * PostgreSQL through a `pg` Pool. Each transaction holds one pooled connection; the shared layer
 * turns a deadline into a transaction-local statement_timeout, and an abort sends pg_cancel_backend for that connection's pid
 * from another connection, so a query never outlives its invocation.
 */
export function openPostgresDriver(options: { url: string; poolSize: number; preparedStatements?: number; logger: Logger }): Driver {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, application_name: 'aerofn' });
  pool.on('error', (error) => options.logger.warn({ err: error }, 'idle PostgreSQL connection failed; the pool replaces it'));

  // Cancels go through their own small pool so that a full main pool cannot hold them up.
  const cancelPool = new pg.Pool({ connectionString: options.url, max: 2, application_name: 'aerofn-cancel' });
  cancelPool.on('error', (error) => options.logger.warn({ err: error }, 'idle PostgreSQL cancel connection failed'));
  const cancel = (pid: number): Promise<void> =>
    cancelPool.query('select pg_cancel_backend($1)', [pid]).then(
      () => undefined,
      (error: unknown) => options.logger.warn({ err: error, pid }, 'could not cancel a PostgreSQL statement'),
    );

  /** Runs `work` on one pooled connection; an abort cancels its running statement by pid. */
  const withConnection = async <T>(signal: AbortSignal | undefined, work: (client: Client, markBroken: () => void) => Promise<T>): Promise<T> => {
    const client = (await pool.connect()) as Client;
    const pid = client.processID ?? null;
    let cancelling: Promise<void> | undefined;
    const onAbort = (): void => {
      if (pid !== null) cancelling = cancel(pid);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let broken = false;
    try {
      return await work(client, () => (broken = true));
    } catch (error) {
      broken ||= !isServerError(error);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A cancel still on its way must land before the connection serves someone else.
      if (cancelling !== undefined) await cancelling;
      client.release(broken ? true : undefined);
    }
  };

  return {
    kind: 'postgres',
    transaction(fn, txOptions = {}) {
      return withConnection(txOptions.signal, async (client, markBroken) => {
        await run(client, 'begin');
        try {
          const result = await fn({ query: (sql, params) => run(client, sql, params) });
          await run(client, 'commit');
          return result;
        } catch (error) {
          await run(client, 'rollback').catch(markBroken);
          throw error;
        }
      });
    },
    sessionQuery(setup, sql, params, queryOptions = {}) {
      const values = normalizeParams(params);
      const cap = queryOptions.writeAnswerCap;
      const once = (client: Client): Promise<QueryResult> =>
        new Promise<QueryResult>((resolve, reject) => {
          const submittable = sessionQuery(
            setup,
            { text: sql, values },
            options.preparedStatements ?? 0,
            (error, result) => (error === null ? resolve(toResult(result)) : reject(error)),
            queryOptions.maxAnswerBytes,
            cap === undefined ? undefined : (result) => refuseLargeAnswer(toResult(result), cap),
          );
          void client.query(submittable as pg.Submittable);
        });
      return withConnection(queryOptions.signal, async (client) => {
        try {
          return await once(client);
        } catch (error) {
          // The table changed shape under the prepared statement (rolled back, nothing ran): once more, parsed afresh.
          if (!isStalePlan(error)) throw error;
          return once(client);
        }
      });
    },
    async query(sql, params) {
      const client = await pool.connect();
      try {
        return await run(client, sql, params);
      } finally {
        client.release();
      }
    },
    async script(sql) {
      await pool.query(sql);
    },
    async close() {
      await Promise.all([pool.end(), cancelPool.end()]);
    },
  };
}
