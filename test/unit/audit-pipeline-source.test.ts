// Acceptance audit, issue 5 Build 1 and 9: the pipeline's start positions `earliest` and a
// timestamp are only parsed in the existing tests (latest and committed run end to end), and the
// per-partition consumer lag of describe() is only checked for its length or a total of 0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline } from '../../src/pipeline/index.js';
import { functionDef } from './pipeline/helpers.js';
import { openTempLog, pipelineConfig, scriptedInvoker, sleep, waitFor } from './pipeline/harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
let counter = 0;
const uniquePrefix = (): string => `audit${process.pid}-${(counter += 1)}.`;
const insert = (table: string, id: number) => ({ key: `${table}:${id}`, value: JSON.stringify({ table, op: 'INSERT', row: { id }, commitTs: id }) });
const committed = async (group: string, topic: string): Promise<number> => [...(await log.committedOffsets(group, topic)).values()].reduce((a, b) => a + b, 0);

before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

describe('audit: pipeline start positions and lag', () => {
  it('starts from the first record with earliest and from the first record at or after a timestamp', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes });
    await log.append(changes, [insert('t', 1), insert('t', 2)]);
    await sleep(20);
    const cut = new Date().toISOString();
    await sleep(20);
    await log.append(changes, [insert('t', 3), insert('t', 4)]);
    const fn = functionDef('f', [{ type: 'database', table: 't', operations: ['INSERT'] }]);

    for (const [startFrom, expected] of [['earliest', [1, 2, 3, 4]], [cut, [3, 4]]] as const) {
      const group = `${prefix}${startFrom === 'earliest' ? 'early' : 'at-time'}`;
      const invoker = scriptedInvoker({ f: () => ({ output: 'null' }) });
      const pipeline = createPipeline({ log, invoker, functions: [fn], config: pipelineConfig({ startFrom, groupId: group }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0 });
      await pipeline.start();
      await waitFor(async () => (await committed(group, changes)) === 4, 10_000, `${startFrom}: offset 4 committed`);
      await pipeline.stop();
      const ids = invoker.calls.map((c) => (JSON.parse(c.payload) as { row: { id: number } }).row.id).sort((a, b) => a - b);
      assert.deepEqual(ids, [...expected], `startFrom ${startFrom}`);
    }
  });

  it('reports consumer lag per partition (end offset minus committed offset) while work is held up, and none once it is committed', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes, partitions: 2 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = async (request: { payload: string }) => {
      if ((JSON.parse(request.payload) as { row: { id: number } }).row.id >= 100) await gate;
      return { output: 'null' };
    };
    const invoker = scriptedInvoker({ held });
    const group = `${prefix}lag`;
    const pipeline = createPipeline({ log, invoker, functions: [functionDef('held', [{ type: 'database', table: 'h', operations: ['INSERT'] }])], config: pipelineConfig({ groupId: group }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0 });
    await pipeline.start();
    // First a few records that pass, so the group has a committed offset on both partitions.
    const first = await log.append(changes, Array.from({ length: 8 }, (_, i) => insert('h', i)));
    assert.ok([0, 1].every((p) => first.some((a) => a.partition === p)), 'the first records reach both partitions');
    await waitFor(async () => (await committed(group, changes)) === 8, 10_000, 'the first 8 committed');
    const appended = await log.append(changes, Array.from({ length: 12 }, (_, i) => insert('h', 100 + i)));
    const perPartition = [0, 1].map((p) => appended.filter((a) => a.partition === p).length);
    assert.ok(perPartition[0]! > 0 && perPartition[1]! > 0, `held records on both partitions: ${perPartition.join(', ')}`);
    await waitFor(() => invoker.calls.length > 8, 10_000, 'a held invocation');
    await sleep(100);
    const lagOf = (d: { lag: readonly { topic: string; partition: number; lag: number }[] }, p: number) => d.lag.find((l) => l.topic === changes && l.partition === p)?.lag;
    const during = await pipeline.describe();
    assert.deepEqual([lagOf(during, 0), lagOf(during, 1)], perPartition, `lag while the held records are uncommitted: ${JSON.stringify(during.lag)}`);
    assert.equal(during.totalLag, 12);
    release();
    await waitFor(async () => (await committed(group, changes)) === 20, 10_000, 'all committed');
    const done = await pipeline.describe();
    assert.deepEqual([lagOf(done, 0), lagOf(done, 1)], [0, 0]);
    await pipeline.stop();
  });
});
