import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { schedulerConformanceSuite } from '../../conformance/scheduler.suite.js';

/** On the embedded log the leader is the process holding the data dir; the next one takes over after it closes. */
schedulerConformanceSuite('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-scheduler-failover-'));
  return {
    prefix: '',
    concurrent: false,
    childEnv: { SCHED_DATA_DIR: dataDir },
    open: () => openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('embedded lease', () => {
  it('lets only one process open the data dir, so only one can lead', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-scheduler-lock-'));
    const first = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
    try {
      await assert.rejects(openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() }));
    } finally {
      await first.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
