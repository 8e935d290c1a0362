import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedEventLog, readToEnd, tail, type LogRecord } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';

const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-tail-'));
after(() => rm(dataDir, { recursive: true, force: true }));

describe('readToEnd and tail', () => {
  it('replays up to the end offset of the call, then follows new records in order until aborted', async () => {
    const log = await openEmbeddedEventLog({ dataDir, logger: silentLogger() });
    await log.ensureTopic({ name: 'r' });
    await log.append('r', Array.from({ length: 2500 }, (_, i) => ({ value: String(i) })));
    const replayed: LogRecord[] = [];
    const next = await readToEnd(log, 'r', 0, 0, (records) => void replayed.push(...records), { maxRecords: 1000 });
    assert.equal(next, 2500);
    assert.deepEqual(replayed.map((r) => r.offset), Array.from({ length: 2500 }, (_, i) => i));

    const followed: string[] = [];
    const stop = new AbortController();
    const following = tail(log, 'r', 0, next, (records) => void followed.push(...records.map((r) => r.value!.toString())), { signal: stop.signal, maxWaitMs: 100 });
    await log.append('r', [{ value: 'a' }]);
    await log.append('r', [{ value: 'b' }, { value: 'c' }]);
    const deadline = Date.now() + 5000;
    while (followed.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await following;
    assert.deepEqual(followed, ['a', 'b', 'c']);
    await log.close();
  });
});
