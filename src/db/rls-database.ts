import type { DatabaseRole, RlsContext } from '../auth/index.js';
import type { Logger } from '../observability/index.js';
import { authSchemaSql, bootstrapLockKey, lockdownSql, outboxSql, rolesSql } from './bootstrap-sql.js';
import { disableCaptureSql, enableCaptureSql } from './change-capture.js';
import {
  DatabaseError,
  queryCanceledCode,
  type Database,
  type QueryOptions,
  type QueryResult,
  type SqlExecutor,
} from './database.js';
import type { Driver } from './driver.js';
import { checkGuestStatement, mayWriteAndAnswer } from './sql-guard.js';

const roles: Record<DatabaseRole, string> = { anon: 'anon', authenticated: 'authenticated', service_role: 'service_role' };

/** The claims the SQL helpers read: the JWT payload, with role and sub as the context says. */
export function claimsJson(rls: RlsContext): string {
  let json = claimsOf.get(rls);
  if (json === undefined) {
    const claims: Record<string, unknown> = { ...rls.claims, role: rls.role };
    if (rls.sub !== null) claims['sub'] = rls.sub;
    json = JSON.stringify(claims);
    claimsOf.set(rls, json);
  }
  return json;
}
/** An invocation passes one RlsContext to all its statements: its claims are serialized once. */
const claimsOf = new WeakMap<RlsContext, string>();

export function toDatabaseError(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError(message, typeof code === 'string' ? code : undefined, { cause: error });
}

export function canceled(reason: string): DatabaseError {
  return new DatabaseError(`the statement was cancelled: ${reason}`, queryCanceledCode);
}

/** Roles, the auth schema and the change outbox; idempotent, serialised across instances by an advisory lock. */
export async function bootstrapDatabase(driver: Driver, logger: Logger): Promise<void> {
  await driver.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [bootstrapLockKey]);
    for (const sql of [rolesSql, authSchemaSql, lockdownSql, outboxSql]) await runScriptInTx(tx, sql);
  });
  logger.debug({ kind: driver.kind }, 'database ready: roles, auth schema and change outbox in place');
}

/** A guest statement under row-level security: what Database.query does, on any driver (the PGlite thread runs it too). */
export function rlsQuery(driver: Driver): Database['query'] {
  return async (sql: string, params: readonly unknown[], rls: RlsContext, options: QueryOptions = {}): Promise<QueryResult> => {
    checkGuestStatement(sql);
    const role = roles[rls.role];
    if (role === undefined) throw new DatabaseError(`unknown database role "${String(rls.role)}"`, '22023');
    const { signal, deadline, maxAnswerBytes } = options;
    if (signal?.aborted === true) throw canceled('the invocation ended');
    let statementTimeoutMs: number | undefined;
    if (deadline !== undefined) {
      statementTimeoutMs = Math.floor(deadline - Date.now());
      if (statementTimeoutMs <= 0) throw canceled('the invocation deadline has passed');
    }
    // One statement sets the whole session; role goes last because set_config is revoked from
    // it. PostgreSQL pipelines it with the guest statement (one round trip, one implicit
    // transaction); PGlite runs both in a transaction, where statement_timeout does nothing.
    const setup = {
      text:
        "select set_config('request.jwt.claims', $1, true), set_config('aerofn.trigger_depth', $2, true), " +
        "set_config('statement_timeout', coalesce($3, current_setting('statement_timeout')), true), set_config('role', $4, true)",
      values: [claimsJson(rls), String((options.triggerDepth ?? 0) + 1), statementTimeoutMs === undefined ? null : `${statementTimeoutMs}ms`, role],
    };
    const started = Date.now();
    // For PGlite, which cannot interrupt a statement and blocks its thread while one runs: an
    // abort timer that came due meanwhile has not fired yet, so let overdue timers run, then
    // roll back a statement that outlived its invocation.
    const check = async (): Promise<Error | undefined> => {
      if (Date.now() - started > 10) await new Promise((resolve) => setTimeout(resolve, 0));
      if (signal?.aborted === true) return canceled('the invocation ended');
      if (deadline !== undefined && Date.now() > deadline) return canceled('the invocation deadline passed while it ran');
      return undefined;
    };
    try {
      return await driver.sessionQuery(setup, sql, params, {
        ...(signal === undefined ? {} : { signal }),
        ...(deadline === undefined ? {} : { deadline }),
        ...(maxAnswerBytes === undefined ? {} : { maxAnswerBytes }),
        // A write whose answer is past the cap is rolled back, so the 54000 its guest reads means
        // nothing happened: the guest can page and try again without writing twice.
        ...(maxAnswerBytes !== undefined && mayWriteAndAnswer(sql) ? { writeAnswerCap: maxAnswerBytes } : {}),
        check,
      });
    } catch (error) {
      throw toDatabaseError(error);
    }
  };
}

/** Shared by both adapters: bootstrap, the RLS session around guest statements, owner access, capture. */
export async function createRlsDatabase(driver: Driver, logger: Logger): Promise<Database> {
  await bootstrapDatabase(driver, logger);

  const adminScript = async (sql: string): Promise<void> => {
    try {
      await driver.script(sql);
    } catch (error) {
      throw toDatabaseError(error);
    }
  };

  return {
    kind: driver.kind,

    query: rlsQuery(driver),

    async admin(sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
      try {
        return await driver.query(sql, params);
      } catch (error) {
        throw toDatabaseError(error);
      }
    },

    adminScript,

    async adminTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      try {
        return await driver.transaction(fn);
      } catch (error) {
        throw toDatabaseError(error);
      }
    },

    async enableChangeCapture(table: string): Promise<void> {
      await adminScript(enableCaptureSql(table));
    },

    async disableChangeCapture(table: string): Promise<void> {
      await adminScript(disableCaptureSql(table));
    },

    ...(driver.guestChannels === undefined ? {} : { guestChannels: driver.guestChannels }),
    failed: driver.failed ?? new Promise<Error>(() => {}),
    close: () => driver.close(),
  };
}

/** DO blocks and DDL in a transaction: split on our own scripts' statement ends (we write them). */
async function runScriptInTx(tx: SqlExecutor, script: string): Promise<void> {
  for (const statement of splitScript(script)) await tx.query(statement);
}

/** Splits our bootstrap scripts at `;` outside dollar-quoted bodies, dropping `--` comments. Only for SQL we wrote. */
export function splitScript(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  for (let i = 0; i < script.length; i += 1) {
    if (script.startsWith('$$', i)) {
      inDollar = !inDollar;
      current += '$$';
      i += 1;
      continue;
    }
    if (!inDollar && script.startsWith('--', i)) {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end;
      continue;
    }
    const c = script[i] as string;
    if (c === ';' && !inDollar) {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}
