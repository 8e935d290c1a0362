import pg from 'pg';
import type { Logger } from '../../observability/index.js';
import type { QueryResult, SqlExecutor } from '../database.js';
import type { Driver } from '../driver.js';
import { normalizeParams, normalizeRows } from '../values.js';

type Client = pg.PoolClient & { processID?: number | null };

async function run(client: pg.ClientBase, sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
  // Always the extended protocol: exactly one statement, parameters bound by the server.
  const result = await client.query({ text: sql, values: normalizeParams(params), queryMode: 'extended' } as pg.QueryConfig);
  const rows = normalizeRows(result.rows as Record<string, unknown>[]);
  return { rows, rowCount: result.rowCount ?? rows.length };
}

/**
 * PostgreSQL through a `pg` Pool. Each transaction holds one pooled connection; the shared layer
 * turns a deadline into a transaction-local statement_timeout, and an abort sends pg_cancel_backend for that connection's pid
 * from another connection, so a query never outlives its invocation.
 */
export function openPostgresDriver(options: { url: string; poolSize: number; logger: Logger }): Driver {
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

  return {
    kind: 'postgres',
    async transaction(fn, txOptions = {}) {
      const client = (await pool.connect()) as Client;
      const pid = client.processID ?? null;
      let cancelling: Promise<void> | undefined;
      const onAbort = (): void => {
        if (pid !== null) cancelling = cancel(pid);
      };
      txOptions.signal?.addEventListener('abort', onAbort, { once: true });
      let broken = false;
      try {
        await run(client, 'begin');
        const executor: SqlExecutor = { query: (sql, params) => run(client, sql, params) };
        const result = await fn(executor);
        await run(client, 'commit');
        return result;
      } catch (error) {
        try {
          await run(client, 'rollback');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        txOptions.signal?.removeEventListener('abort', onAbort);
        // A cancel still on its way must land before the connection serves someone else.
        if (cancelling !== undefined) await cancelling;
        client.release(broken ? true : undefined);
      }
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
