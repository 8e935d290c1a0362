import { DatabaseError, type Database } from '../../db/index.js';
import type { HostCallContext, HostFunction } from '../host-function.js';
import { errorResponse, parseJsonObject } from './host-json.js';

/**
 * db_query (DESIGN §4.2): `{"sql","params":[]}` → `{"rows":[…],"rowCount":n}`, one statement in its
 * own transaction as the invocation's role and claims, parameters bound, cancelled with the
 * invocation. A failed statement answers `{"error":{"message","code"}}` with the SQLSTATE.
 */
export function createDbQuery(options: { database: Database }): HostFunction {
  const { database } = options;
  return async (request: Uint8Array, context: HostCallContext): Promise<string> => {
    const json = parseJsonObject(request);
    if (json === null || typeof json['sql'] !== 'string') {
      return errorResponse('db_query expects a JSON object {"sql": "...", "params": [...]}', '22023');
    }
    const params = json['params'] ?? [];
    if (!Array.isArray(params)) return errorResponse('"params" must be an array', '22023');
    try {
      const result = await database.query(json['sql'], params, context.rls, {
        signal: context.signal,
        deadline: context.deadline,
        triggerDepth: context.triggerDepth,
      });
      return JSON.stringify(result);
    } catch (error) {
      // Parameters may carry user data: only the statement's error is logged, never the values.
      const failure = error instanceof DatabaseError ? error : new DatabaseError((error as Error).message, undefined);
      context.logger.debug({ code: failure.code, message: failure.message }, 'db_query statement failed');
      return errorResponse(failure.message, failure.code);
    }
  };
}
