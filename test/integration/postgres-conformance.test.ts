import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../src/db/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { databaseSuite } from '../conformance/database.suite.js';
import { preparedStatementsSuite } from '../conformance/prepared-statements.suite.js';
import { withDatabase } from './postgres-test-db.js';
import { openTempEmbeddedLog } from '../conformance/capture-workload.js';

databaseSuite('postgres', {
  async open() {
    // A database of its own: the change outbox is per database, and other test files share the server.
    const { url, drop } = await withDatabase(`aerofn_conf_${randomBytes(4).toString('hex')}`);
    const db = await openDatabase({ config: { database: { url, poolSize: 8 } }, dataDir: '', logger: silentLogger() });
    return {
      db,
      dispose: async () => {
        await db.close();
        await drop();
      },
    };
  },
  openEventLog: openTempEmbeddedLog,
});

preparedStatementsSuite('postgres', {
  async open(capacity) {
    // One connection, so every statement (and the count of prepared ones) runs on the same session.
    const { url, drop } = await withDatabase(`aerofn_prep_${randomBytes(4).toString('hex')}`);
    const db = await openDatabase({ config: { database: { url, poolSize: 1, preparedStatements: capacity } }, dataDir: '', logger: silentLogger() });
    return {
      db,
      dispose: async () => {
        await db.close();
        await drop();
      },
    };
  },
});
