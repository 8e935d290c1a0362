import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { eventLogSuite } from '../../conformance/event-log.suite.js';

const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-eventlog-'));
after(() => rm(dataDir, { recursive: true, force: true }));

eventLogSuite('embedded', () => openEmbeddedEventLog({ dataDir, logger: silentLogger() }));
