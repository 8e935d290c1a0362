import { openDatabase } from '../../../src/db/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { databaseSuite } from '../../conformance/database.suite.js';
import { preparedStatementsSuite } from '../../conformance/prepared-statements.suite.js';
import { openTempEmbeddedLog } from '../../conformance/capture-workload.js';

databaseSuite('pglite', {
  async open() {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir: '', inMemory: true, logger: silentLogger() });
    return { db, dispose: () => db.close() };
  },
  openEventLog: openTempEmbeddedLog,
});

// AEROFN_PGLITE_THREAD=false: PGlite on the main thread, as before it had a thread of its own.
databaseSuite('pglite on the main thread', {
  async open() {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread: false } }, dataDir: '', inMemory: true, logger: silentLogger() });
    return { db, dispose: () => db.close() };
  },
  openEventLog: openTempEmbeddedLog,
});

preparedStatementsSuite('pglite', {
  async open(capacity) {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1, preparedStatements: capacity } }, dataDir: '', inMemory: true, logger: silentLogger() });
    return { db, dispose: () => db.close() };
  },
});
