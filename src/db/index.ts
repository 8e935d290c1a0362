export { openDatabase } from './open-database.js';
export type { OpenDatabaseOptions } from './open-database.js';
export { DatabaseError, queryCanceledCode } from './database.js';
export type { CapturedChange, Database, QueryOptions, QueryResult, Row, SqlExecutor } from './database.js';
export { createChangeRelay, outboxIdHeader, readOutbox, toChangeEvent } from './change-relay.js';
export type { ChangeRelay, ChangeRelayOptions } from './change-relay.js';
export { qualifiedTable } from './change-capture.js';
export { checkGuestStatement } from './sql-guard.js';
