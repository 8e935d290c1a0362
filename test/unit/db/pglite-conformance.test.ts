import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../src/db/index.js';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { databaseSuite } from '../../conformance/database.suite.js';

databaseSuite('pglite', {
  async open() {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir: '', inMemory: true, logger: silentLogger() });
    return { db, dispose: () => db.close() };
  },
  async openEventLog() {
    const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-db-log-'));
    const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
    return {
      log,
      dispose: async () => {
        await log.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
});
