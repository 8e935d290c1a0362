import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { eventLogSuite } from '../../conformance/event-log.suite.js';
import { openThreadLog } from '../../fixtures/eventlog-thread/open-thread-log.js';

// The embedded log lives in a worker thread; every call of the suite crosses to it and back.
const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-eventlog-thread-'));
after(() => rm(dataDir, { recursive: true, force: true }));

eventLogSuite('embedded, served from another thread', async () => (await openThreadLog(dataDir)).log);
