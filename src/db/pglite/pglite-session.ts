import { protocol, type PGlite } from '@electric-sql/pglite';
import { DatabaseError, type QueryResult } from '../database.js';
import type { PreparedStatements, PreparedUse } from '../prepared-statements.js';
import { bindMessage, describeAndExecute, lastResult } from './pglite-wire.js';

const { serialize } = protocol;

/** Text-format parameters, as node-pg sends them: the server infers each type from the statement. */
export function toTextParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayLiteral(item);
    const text = typeof item === 'object' ? JSON.stringify(item) : String(item);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The guest statement: named when prepared (parsed only on its first use), else unnamed. */
function statementMessages(text: string, values: (string | null)[], prepared: PreparedUse | undefined): Uint8Array[] {
  if (prepared === undefined) return [serialize.parse({ text }), bindMessage('', values), describeAndExecute];
  const { name } = prepared;
  return prepared.parse ? [serialize.parse({ text, name }), bindMessage(name, values), describeAndExecute] : [bindMessage(name, values), describeAndExecute];
}

/** The setup is a named statement, parsed and planned once per PGlite instance (one session). */
const setupName = 'aerofn_session_setup';
/** `ready` once the setup ran; `unknown` while a Parse of it was sent but not seen to work (closed and parsed again). */
const setupState = new WeakMap<PGlite, 'ready' | 'unknown'>();

function setupMessages(db: PGlite, setup: { readonly text: string; readonly values: readonly (string | null)[] }): Uint8Array[] {
  const state = setupState.get(db);
  const parts: Uint8Array[] = [];
  if (state !== 'ready') {
    // Closing a statement that does not exist is not an error.
    if (state === 'unknown') parts.push(serialize.close({ type: 'S', name: setupName }));
    parts.push(serialize.parse({ text: setup.text, name: setupName }));
    setupState.set(db, 'unknown');
  }
  parts.push(bindMessage(setupName, setup.values), describeAndExecute);
  return parts;
}

interface ErrorMessage {
  readonly name: string;
  readonly message?: string;
  readonly code?: string;
}

const findError = (messages: readonly unknown[]): ErrorMessage | undefined =>
  messages.find((m) => (m as ErrorMessage).name === 'error') as ErrorMessage | undefined;

/**
 * An Execute of a portal that never exists. Any error before a Sync aborts the implicit
 * transaction of the extended protocol, so this followed by Sync is how an implicit transaction
 * is rolled back (guests cannot name portals: DECLARE is refused by the statement guard).
 */
const rollbackImplicit = concat([serialize.execute({ portal: 'aerofn_rollback' }), serialize.sync()]);
const commitImplicit = serialize.sync();

/**
 * The session setup and the guest statement in one implicit transaction of the extended protocol
 * (everything before a Sync is one transaction, so the setup's `set_config(…, true)` — role,
 * claims — holds for the statement and ends with it), in two protocol exchanges: Parse/Bind/
 * Execute of both without a Sync (the setup a named statement, parsed once; the guest statement
 * too, per `statements`), then, after `decide` and `refuse`, a Sync that commits (undefined) or an
 * erroring Execute plus Sync that rolls back (an error), so a statement that ran past the
 * invocation's deadline (PGlite cannot interrupt one) or a write whose answer is refused leaves
 * nothing behind. No BEGIN and COMMIT statements: they cost PGlite two more statements per call
 * (~40 % of the session's time).
 * Runs under PGlite's transaction and query locks, like its own transaction().
 */
export async function pgliteSessionQuery(
  db: PGlite,
  setup: { readonly text: string; readonly values: readonly (string | null)[] },
  sql: string,
  params: readonly unknown[],
  decide: () => Promise<Error | undefined>,
  statements: PreparedStatements,
  refuse?: (result: QueryResult) => Error | undefined,
): Promise<QueryResult> {
  return db._runExclusiveTransaction(() =>
    db._runExclusiveQuery(async () => {
      const prepared = statements.use(sql);
      const closes = (prepared?.close ?? []).map((name) => serialize.close({ type: 'S', name }));
      const message = concat([...closes, ...setupMessages(db, setup), ...statementMessages(sql, params.map(toTextParam), prepared)]);
      let messages: Awaited<ReturnType<PGlite["execProtocolStream"]>>;
      let refusal: Error | undefined;
      let result: QueryResult | undefined;
      try {
        messages = await db.execProtocolStream(message, { throwOnError: false, syncToFs: false });
        // The setup's CommandComplete comes first: it ran, so it exists. Without one, parse it again.
        setupState.set(db, messages.some((m) => m.name === 'commandComplete') ? 'ready' : 'unknown');
        // After an error the backend skips everything up to the Sync, which then rolls back.
        if (findError(messages) === undefined) {
          refusal = await decide();
          if (refusal === undefined && refuse !== undefined) refusal = refuse((result = resultOf(db, messages)));
        }
      } catch (error) {
        statements.failed(sql);
        statements.closeLater(prepared?.close ?? []);
        await db.execProtocolStream(rollbackImplicit, { throwOnError: false, syncToFs: false });
        throw error;
      }
      const failure = findError(messages);
      if (failure === undefined) statements.succeeded(sql);
      else statements.failed(sql);
      const ending = await db.execProtocolStream(refusal === undefined ? commitImplicit : rollbackImplicit, { throwOnError: false, syncToFs: false });
      // The commit itself can fail too (a deferred constraint); the rollback's error is our own.
      const commitFailure = failure ?? (refusal === undefined ? findError(ending) : undefined);
      if (commitFailure !== undefined) throw new DatabaseError(commitFailure.message ?? 'the statement failed', commitFailure.code, { cause: commitFailure });
      await db.syncToFs();
      if (refusal !== undefined) throw refusal;
      return result ?? resultOf(db, messages);
    }),
  );
}

function resultOf(db: PGlite, messages: readonly unknown[]): QueryResult {
  const { rows, affectedRows } = lastResult(db, messages);
  return { rows, rowCount: Math.max(rows.length, affectedRows) };
}
