import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { DatabaseError, type QueryResult } from '../database.js';
import { normalizeRows } from '../values.js';

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

const statement = (text: string, values: readonly (string | null)[]): Uint8Array[] => [
  serialize.parse({ text }),
  serialize.bind({ values: [...values] }),
  serialize.describe({ type: 'P' }),
  serialize.execute({}),
];

interface ErrorMessage {
  readonly name: string;
  readonly message?: string;
  readonly code?: string;
}

/**
 * The session setup and the guest statement in one explicit transaction, sent to PGlite as one
 * protocol exchange (BEGIN, setup, statement, Sync) instead of a dozen — PGlite's query() alone
 * takes five. The transaction stays open until `decide` says commit (undefined) or roll back (an error), so a statement
 * that ran past the invocation's deadline (PGlite cannot interrupt one) leaves nothing behind.
 * Runs under PGlite's transaction and query locks, like its own transaction().
 */
export async function pgliteSessionQuery(
  db: PGlite,
  setup: { readonly text: string; readonly values: readonly (string | null)[] },
  sql: string,
  params: readonly unknown[],
  decide: () => Promise<Error | undefined>,
): Promise<QueryResult> {
  return db._runExclusiveTransaction(() =>
    db._runExclusiveQuery(async () => {
      const message = concat([
        serialize.query('begin'),
        ...statement(setup.text, setup.values),
        ...statement(sql, params.map(toTextParam)),
        serialize.sync(),
      ]);
      const messages = await db.execProtocolStream(message, { throwOnError: false, syncToFs: false });
      const failure = messages.find((m) => (m as ErrorMessage).name === 'error') as ErrorMessage | undefined;
      if (failure !== undefined) {
        await db.execProtocolStream(serialize.query('rollback'), { syncToFs: false });
        throw new DatabaseError(failure.message ?? 'the statement failed', failure.code, { cause: failure });
      }
      const refusal = await decide();
      await db.execProtocolStream(serialize.query(refusal === undefined ? 'commit' : 'rollback'), { syncToFs: false });
      await db.syncToFs();
      if (refusal !== undefined) throw refusal;
      const results = parse.parseResults(messages, db.parsers);
      const last = results[results.length - 1];
      if (last === undefined) throw new DatabaseError('the statement returned no result', undefined);
      const rows = normalizeRows(last.rows as Record<string, unknown>[]);
      return { rows, rowCount: Math.max(rows.length, last.affectedRows ?? 0) };
    }),
  );
}
