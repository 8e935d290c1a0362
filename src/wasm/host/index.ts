import type { Database } from '../../db/index.js';
import type { HostFunctions } from '../host-function.js';
import { createDbQuery } from './db-query.js';
import { createEnv, type EnvOptions } from './env.js';
import { createHttpFetch, type HttpFetchOptions } from './http-fetch.js';

export { createDbQuery } from './db-query.js';
export { createEnv, isServiceSetting } from './env.js';
export type { EnvOptions } from './env.js';
export { createHttpFetch } from './http-fetch.js';
export type { HttpFetchOptions, ResolvedAddress } from './http-fetch.js';
export { hostAllowed, isInternalAddress, parseAllowList } from './allowed-hosts.js';
export { redactJournalEntry } from './redact.js';

export interface HostFunctionsOptions {
  readonly database: Database;
  /** config.sandbox.httpFetchMaxResponseBytes */
  readonly httpFetchMaxResponseBytes: number;
  /** config.database.queryMaxAnswerBytes (default: no cap) */
  readonly dbQueryMaxAnswerBytes?: number;
  readonly environment: EnvOptions['environment'];
  readonly secretsFor?: EnvOptions['secretsFor'];
  readonly resolve?: HttpFetchOptions['resolve'];
}

/** db_query, http_fetch and env for createInvoker({ hostFunctions }). */
export function createHostFunctions(options: HostFunctionsOptions): HostFunctions {
  return {
    db_query: createDbQuery({ database: options.database, ...(options.dbQueryMaxAnswerBytes === undefined ? {} : { maxAnswerBytes: options.dbQueryMaxAnswerBytes }) }),
    http_fetch: createHttpFetch({ maxResponseBytes: options.httpFetchMaxResponseBytes, ...(options.resolve === undefined ? {} : { resolve: options.resolve }) }),
    env: createEnv({ environment: options.environment, ...(options.secretsFor === undefined ? {} : { secretsFor: options.secretsFor }) }),
  };
}
