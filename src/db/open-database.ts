import { join } from 'node:path';
import { defaultPgliteHeapMb, defaultPreparedStatements, defaultQueryMaxAnswerBytes, type AeroConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { Database } from './database.js';
import { openPgliteDriver } from './pglite/pglite-driver.js';
import { openPgliteThreadDriver } from './pglite/pglite-thread-driver.js';
import { openPostgresDriver } from './postgres/postgres-driver.js';
import { createRlsDatabase } from './rls-database.js';

export interface OpenDatabaseOptions {
  readonly config: Pick<AeroConfig, 'database'>;
  /** PGlite lives in `<dataDir>/pglite`; ignored for PostgreSQL. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** PGlite only: keep everything in memory (tests). */
  readonly inMemory?: boolean;
}

/** PostgreSQL when DATABASE_URL is set, else PGlite in the data dir (DESIGN §2). */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const logger = options.logger;
  const { url, poolSize, preparedStatements = defaultPreparedStatements, pgliteThread = true, pgliteHeapMb = defaultPgliteHeapMb, queryMaxAnswerBytes = defaultQueryMaxAnswerBytes } = options.config.database;
  const pgliteOptions = { preparedStatements, ...(options.inMemory === true ? {} : { dataDir: join(options.dataDir, 'pglite') }) };
  const driver =
    url !== undefined
      ? openPostgresDriver({ url, poolSize, preparedStatements, logger })
      : pgliteThread
        ? await openPgliteThreadDriver({ ...pgliteOptions, heapMb: pgliteHeapMb, maxAnswerBytes: queryMaxAnswerBytes })
        : await openPgliteDriver(pgliteOptions);
  try {
    return await createRlsDatabase(driver, logger);
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
}
