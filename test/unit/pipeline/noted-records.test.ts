import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendRecord, EventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { NotedRecords } from '../../../src/pipeline/noted-records.js';
import { openTempLog } from './harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

/** The real log, counting append calls. */
function counting(inner: EventLog): { log: Pick<EventLog, 'append'>; appends: number[] } {
  const appends: number[] = [];
  return {
    appends,
    log: {
      append: (topic: string, records: readonly AppendRecord[]) => {
        appends.push(records.length);
        return inner.append(topic, records);
      },
    },
  };
}

const record = (n: number): AppendRecord => ({ key: 'f', value: JSON.stringify({ n }), headers: { 'aerofn-invocation-id': `id-${n}` } });

async function values(topic: string): Promise<number[]> {
  const records = await log.read(topic, 0, 0, { maxRecords: 10_000 });
  return records.map((r) => (JSON.parse(r.value!.toString('utf8')) as { n: number }).n);
}

describe('NotedRecords', () => {
  it('appends the records added in one turn with one append, in order', async () => {
    const topic = `noted-${process.pid}-${Date.now()}-a`;
    await log.ensureTopic({ name: topic });
    const spy = counting(log);
    const noted = new NotedRecords(spy.log, topic, silentLogger());
    for (let n = 0; n < 50; n++) noted.add(record(n));
    await noted.drain();
    assert.deepEqual(spy.appends, [50]);
    assert.deepEqual(await values(topic), Array.from({ length: 50 }, (_, n) => n));
  });

  it('collects what arrives during an append into the next one, and splits at maxBatch', async () => {
    const topic = `noted-${process.pid}-${Date.now()}-b`;
    await log.ensureTopic({ name: topic });
    const spy = counting(log);
    const noted = new NotedRecords(spy.log, topic, silentLogger(), 10);
    noted.add(record(0));
    await new Promise((resolve) => setImmediate(resolve)); // the first append is under way
    for (let n = 1; n <= 25; n++) noted.add(record(n));
    await noted.drain();
    assert.deepEqual(spy.appends, [1, 10, 10, 5]);
    assert.deepEqual(await values(topic), Array.from({ length: 26 }, (_, n) => n));
  });

  it('logs a failed append and keeps going with later records', async () => {
    const topic = `noted-${process.pid}-${Date.now()}-c`;
    await log.ensureTopic({ name: topic });
    let fail = true;
    const flaky: Pick<EventLog, 'append'> = {
      append: (t, records) => (fail ? ((fail = false), Promise.reject(new Error('broker down'))) : log.append(t, records)),
    };
    const warnings: unknown[] = [];
    const logger = silentLogger();
    logger.warn = ((payload: unknown) => void warnings.push(payload)) as typeof logger.warn;
    const noted = new NotedRecords(flaky, topic, logger);
    noted.add(record(1));
    await noted.drain();
    noted.add(record(2));
    await noted.drain();
    assert.equal(warnings.length, 1);
    assert.deepEqual((warnings[0] as { invocationIds: string[] }).invocationIds, ['id-1']);
    assert.deepEqual(await values(topic), [2]);
  });

  it('drops records past maxPending while the log does not take them, with one warning per interval', async () => {
    const topic = `noted-${process.pid}-${Date.now()}-d`;
    await log.ensureTopic({ name: topic });
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    // The first append hangs (a broker that does not answer) until released.
    let first = true;
    const slow: Pick<EventLog, 'append'> = {
      append: async (t, records) => {
        if (first) {
          first = false;
          await stalled;
        }
        return log.append(t, records);
      },
    };
    const warnings: Array<Record<string, unknown>> = [];
    const logger = silentLogger();
    logger.warn = ((payload: Record<string, unknown>) => void warnings.push(payload)) as typeof logger.warn;
    const noted = new NotedRecords(slow, topic, logger, 1000, 5);
    for (let n = 0; n < 5; n++) noted.add(record(n));
    await new Promise((resolve) => setImmediate(resolve)); // the first append (0-4) hangs now
    for (let n = 5; n < 17; n++) noted.add(record(n));
    assert.equal(noted.dropped, 7, 'five wait, the rest are dropped');
    assert.equal(warnings.length, 1, 'one warning for the burst');
    assert.equal(warnings[0]?.['droppedTotal'], 1, 'the warning comes with the first drop');
    release();
    await noted.drain();
    assert.deepEqual(await values(topic), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'what was taken is appended, in order');
    for (let n = 17; n < 20; n++) noted.add(record(n));
    await noted.drain();
    assert.equal(noted.dropped, 7, 'below the cap nothing is dropped');
    assert.equal(warnings.length, 1);
  });
});
