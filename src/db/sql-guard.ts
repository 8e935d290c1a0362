import { DatabaseError } from './database.js';

/**
 * What a guest may send to db_query: one data statement. Anything else could undo the RLS session
 * we just set up — `reset role`, `set role postgres`, `set request.jwt.claims = …` or a DO block
 * that runs them dynamically — so utility statements are refused before they reach the server.
 * (Nested calls are closed off by the bootstrap too: set_config and pg_settings updates are revoked
 * from PUBLIC; see docs/security.md.) The extended protocol already makes `a; b` a syntax error.
 */
const allowedFirstWords = new Set(['select', 'insert', 'update', 'delete', 'with', 'values', 'table', 'merge']);

export function checkGuestStatement(sql: string): void {
  const word = firstWord(sql);
  if (word === undefined) throw new DatabaseError('db_query needs one SQL statement; the text was empty', '42601');
  if (!allowedFirstWords.has(word)) {
    throw new DatabaseError(
      `db_query runs data statements only (SELECT, INSERT, UPDATE, DELETE, WITH, VALUES, TABLE, MERGE); "${word.toUpperCase()}" is not allowed — do schema changes and session settings as the service owner (migrations)`,
      '42501',
    );
  }
}

const writingFirstWords = new Set(['insert', 'update', 'delete', 'merge']);

/**
 * Whether a guest statement may write and also answer rows: a write with RETURNING, or a WITH
 * that holds a write (its last part can select anything). Only such a statement's answer can pass
 * the cap after it wrote; a write without RETURNING answers no rows. A SELECT writes only through
 * a function that writes, which only the owner can create. Judged on the text, so a string that
 * merely contains the words counts too: that costs a round trip, never a missed rollback.
 */
export function mayWriteAndAnswer(sql: string): boolean {
  const word = firstWord(sql);
  if (word === 'with') return /\b(insert|update|delete|merge)\b/i.test(sql);
  return word !== undefined && writingFirstWords.has(word) && /\breturning\b/i.test(sql);
}

/** The first keyword after whitespace, comments and opening parentheses, lower-cased. */
export function firstWord(sql: string): string | undefined {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '(') {
      i += 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth += 1; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { depth -= 1; i += 2; }
        else i += 1;
      }
    } else {
      break;
    }
  }
  const match = /^[A-Za-z_]+/.exec(sql.slice(i));
  return match === null ? (i < n ? sql.slice(i, i + 1) : undefined) : match[0].toLowerCase();
}
