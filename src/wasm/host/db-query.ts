import { answerGuestQuery, type Database } from '../../db/index.js';
import type { HostCallContext, HostFunction } from '../host-function.js';

/**
 * db_query (DESIGN §4.2): `{"sql","params":[]}` → `{"rows":[…],"rowCount":n}`, one statement in its
 * own transaction as the invocation's role and claims, parameters bound, cancelled with the
 * invocation. A failed statement answers `{"error":{"message","code"}}` with the SQLSTATE.
 * On PGlite, sandbox workers ask the PGlite thread directly instead (docs/database.md).
 */
export function createDbQuery(options: { database: Pick<Database, 'query'>; maxAnswerBytes?: number }): HostFunction {
  const { database } = options;
  const query: Database['query'] = (sql, params, rls, queryOptions) => database.query(sql, params, rls, queryOptions);
  return async (request: Uint8Array, context: HostCallContext): Promise<string> => {
    const { answer, failure } = await answerGuestQuery(query, request, context.rls, {
      signal: context.signal,
      deadline: context.deadline,
      triggerDepth: context.triggerDepth,
      ...(options.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: options.maxAnswerBytes }),
    });
    // Parameters may carry user data: only the statement's error is logged, never the values.
    if (failure !== undefined) context.logger.debug({ code: failure.code, message: failure.message }, 'db_query statement failed');
    return answer;
  };
}
