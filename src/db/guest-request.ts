import type { RlsContext } from '../auth/index.js';
import { DatabaseError, type Database, type QueryOptions, type QueryResult } from './database.js';

/*
 * A guest's db_query request, from its bytes to the answer it reads (DESIGN §4.2). Here rather
 * than beside the other host functions because two threads answer it: the main thread (the
 * db_query host function) and the PGlite thread, which serves sandbox workers directly.
 */

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeRequest(request: Uint8Array): string | null {
  try {
    return decoder.decode(request);
  } catch {
    return null;
  }
}

export function parseJsonObject(request: Uint8Array): Record<string, unknown> | null {
  const text = decodeRequest(request);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A refusal the guest can read and recover from; a trap after it makes the invocation a HostFunctionError. */
export function errorResponse(message: string, code?: string): string {
  return JSON.stringify({ error: code === undefined ? { message } : { message, code } });
}

export interface GuestAnswer {
  /** `{"rows":[…],"rowCount":n}` or `{"error":{"message","code"}}`. */
  readonly answer: string;
  /** Set when the statement failed (the answer is its refusal); never carries the parameters. */
  readonly failure?: DatabaseError;
}

/**
 * `{"sql","params":[]}` → one statement in its own transaction as the caller's role and claims,
 * parameters bound. A malformed request or a failed statement is an answer, not a throw.
 */
export async function answerGuestQuery(query: Database['query'], request: Uint8Array, rls: RlsContext, options: QueryOptions): Promise<GuestAnswer> {
  const json = parseJsonObject(request);
  if (json === null || typeof json['sql'] !== 'string') {
    return { answer: errorResponse('db_query expects a JSON object {"sql": "...", "params": [...]}', '22023') };
  }
  const params = json['params'] ?? [];
  if (!Array.isArray(params)) return { answer: errorResponse('"params" must be an array', '22023') };
  try {
    const answer = JSON.stringify(await query(json['sql'], params, rls, options));
    // A write past the cap was refused (and rolled back) before its commit; this is for the rest.
    const cap = options.maxAnswerBytes;
    if (cap !== undefined && answerExceeds(answer, cap)) throw answerTooLarge(cap);
    return { answer };
  } catch (error) {
    const failure = error instanceof DatabaseError ? error : new DatabaseError((error as Error).message, undefined);
    return { answer: errorResponse(failure.message, failure.code), failure };
  }
}

/** SQLSTATE program_limit_exceeded: what a guest gets for an answer past QueryOptions.maxAnswerBytes. */
export const ANSWER_TOO_LARGE = '54000';

/** A write's refusal before its commit when its answer is past `cap` (Driver's `writeAnswerCap`). */
export function refuseLargeAnswer(result: QueryResult, cap: number): DatabaseError | undefined {
  return answerExceeds(JSON.stringify(result), cap) ? answerTooLarge(cap, true) : undefined;
}

/** Whether an answer's text is longer than `cap` bytes of UTF-8. */
export function answerExceeds(answer: string, cap: number): boolean {
  // UTF-8 is at most three bytes per UTF-16 unit: most answers are judged by their length alone.
  return answer.length * 3 > cap && Buffer.byteLength(answer, 'utf8') > cap;
}

/**
 * The answer past the cap, as the guest reads it. A write that answers rows (`mayWriteAndAnswer`)
 * is judged before its commit and rolled back (`rolledBack`); a SELECT has nothing to undo.
 */
export function answerTooLarge(maxAnswerBytes: number, rolledBack = false): DatabaseError {
  return new DatabaseError(
    `db_query's answer is larger than AEROFN_DB_QUERY_MAX_ANSWER_BYTES (${maxAnswerBytes} bytes): select fewer rows (LIMIT, paging by key) or columns. ${rolledBack ? 'The statement was rolled back: nothing it wrote was kept.' : 'The statement ran to its end.'}`,
    ANSWER_TOO_LARGE,
  );
}
