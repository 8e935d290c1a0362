import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import type { LogPair } from './registry-suite.js';

let counter = 0;

/** One embedded log per call in its own data dir; both "instances" share it, as one process would. */
export async function openEmbeddedPair(): Promise<LogPair> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-registry-'));
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  counter += 1;
  return {
    a: log,
    b: log,
    prefix: `t${counter}.`,
    async close() {
      await log.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
