import { mkdir } from 'node:fs/promises';
import { PGlite, type Results } from '@electric-sql/pglite';
import type { QueryResult, SqlExecutor } from '../database.js';
import type { Driver } from '../driver.js';
import { refuseLargeAnswer } from '../guest-request.js';
import { normalizeParams, normalizeRows } from '../values.js';
import { isStalePlan, PreparedStatements } from '../prepared-statements.js';
import { pgliteSessionQuery } from './pglite-session.js';

function toResult(result: Results<Record<string, unknown>>): QueryResult {
  const rows = normalizeRows(result.rows);
  return { rows, rowCount: Math.max(rows.length, result.affectedRows ?? 0) };
}

/**
 * PGlite is one Postgres backend in this process: one connection, statements run one at a time
 * (PGlite queues them), and a running statement cannot be interrupted — wasm has no signals, so
 * statement_timeout and pg_cancel_backend do nothing. The shared layer checks the deadline after
 * the statement (sessionQuery's `check`) and rolls it back when it ran too long (docs/database.md).
 */
export async function openPgliteDriver(options: { dataDir?: string; preparedStatements?: number }): Promise<Driver> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  // int8 and numeric stay text, as `pg` gives them: a JSON number would lose digits.
  const asText = (value: string): string => value;
  const db = await PGlite.create({
    dataDir: options.dataDir === undefined ? 'memory://' : options.dataDir,
    parsers: { 20: asText, 1700: asText },
  });
  const statements = new PreparedStatements(options.preparedStatements ?? 0);
  const executor = (target: Pick<PGlite, 'query'>): SqlExecutor => ({
    async query(sql, params = []) {
      return toResult(await target.query<Record<string, unknown>>(sql, normalizeParams(params)));
    },
  });
  return {
    kind: 'pglite',
    async transaction(fn) {
      return db.transaction(async (tx) => fn(executor(tx)));
    },
    async sessionQuery(setup, sql, params, queryOptions = {}) {
      const cap = queryOptions.writeAnswerCap;
      const refuse = cap === undefined ? undefined : (result: QueryResult): Error | undefined => refuseLargeAnswer(result, cap);
      const run = (): Promise<QueryResult> => pgliteSessionQuery(db, setup, sql, params, queryOptions.check ?? (async () => undefined), statements, refuse);
      try {
        return await run();
      } catch (error) {
        // The table changed shape under the prepared statement (rolled back, nothing ran): once more, parsed afresh.
        if (!isStalePlan(error)) throw error;
        return run();
      }
    },
    query: (sql, params) => executor(db).query(sql, params),
    async script(sql) {
      await db.exec(sql);
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
