import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FunctionError, isFunctionError, type FunctionErrorJson } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';

/** DESIGN §4.3: every error answer is `{"error":{"kind","code","message"}}` with the table's status. */
export function errorBody(error: FunctionError | FunctionErrorJson): { error: { kind: string; code: string; message: string } } {
  return { error: { kind: error.kind, code: error.code, message: error.message } };
}

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** ajv's messages, with the field named (ajv leaves the unknown property out of its own text). */
export function formatValidationErrors(errors: readonly ValidationIssue[], dataVar: string): Error {
  const parts = errors
    .filter((issue) => issue.keyword !== 'oneOf' && issue.keyword !== 'discriminator' || errors.length === 1)
    .slice(0, 5)
    .map((issue) => {
      const where = `${dataVar}${issue.instancePath}`;
      if (issue.keyword === 'additionalProperties') return `${where} has an unknown field "${String(issue.params['additionalProperty'])}"`;
      if (issue.keyword === 'enum' && Array.isArray(issue.params['allowedValues'])) {
        return `${where} must be one of ${(issue.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      }
      if (issue.keyword === 'discriminator') return `${where}/type must be "http", "database" or "schedule"`;
      return `${where} ${issue.message ?? 'is invalid'}`;
    });
  return new Error(`invalid request: ${parts.join('; ')} (see docs/api.md)`);
}

/** Maps anything a route or fastify itself throws to the table. */
export function toRestError(error: FastifyError | Error): FunctionError {
  if (isFunctionError(error)) return error;
  const fe = error as FastifyError;
  if (fe.validation !== undefined) return new FunctionError('BadRequest', fe.message);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FunctionError('PayloadTooLarge', `${fe.message}; raise AEROFN_HTTP_BODY_LIMIT_BYTES on the server if this is expected`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FunctionError('BadRequest', 'unsupported Content-Type: send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FunctionError('BadRequest', 'the body is empty: send a JSON document');
    default:
      break;
  }
  if (error instanceof SyntaxError || fe.statusCode === 400) return new FunctionError('BadRequest', `malformed request: ${error.message}`);
  if (fe.statusCode === 413) return new FunctionError('PayloadTooLarge', error.message);
  if (fe.statusCode === 404) return new FunctionError('NotFound', error.message);
  return new FunctionError('RuntimePanic', `internal error: ${error.message}; the server log has the details`, { cause: error });
}

export function createErrorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const mapped = toRestError(error);
    if (mapped.httpStatus >= 500 && !isFunctionError(error)) logger.error({ err: error, url: request.url }, 'request failed');
    void reply.code(mapped.httpStatus).type('application/json').send(errorBody(mapped));
  };
}
