import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { SinkWriter } from '../../../src/pipeline/sink-writer.js';
import { StageStats } from '../../../src/pipeline/stage-stats.js';
import type { Completion } from '../../../src/pipeline/types.js';
import { CommitWatermarks } from '../../../src/pipeline/watermark.js';
import { logRecord } from './helpers.js';
import { openTempLog, readValues } from './harness.js';

const topics = { invocations: 'inv', metrics: 'met', dlq: 'dlq' };
const changes = 'aerodb.changes';

function completion(offset: number, abandoned = false): Completion {
  const record = { id: `id-${offset}`, function: 'f', source: { topic: changes, partition: 0, offset } } as unknown as InvocationRecord;
  return { record: logRecord(offset, null, { topic: changes }), invocations: [record], deadLetters: [], ...(abandoned ? { abandoned: true as const } : {}) };
}

describe('SinkWriter in exactly_once', () => {
  it('holds the outputs of a record finished before an earlier one until the transaction that commits its offset', async () => {
    const { log, cleanup } = await openTempLog();
    try {
      for (const topic of [...Object.values(topics), changes]) await log.ensureTopic({ name: topic, partitions: 1 });
      const watermarks = new CommitWatermarks();
      const stats = { invocations: new StageStats('i'), metrics: new StageStats('m'), dlq: new StageStats('d'), commit: new StageStats('c') };
      const writer = new SinkWriter({ log, topics, mode: 'exactly_once', groupId: 'g', transactionalId: 'g.t', watermarks, logger: silentLogger(), stats });
      for (const offset of [0, 1, 2, 3]) watermarks.track(changes, 0, offset);
      const ids = async (): Promise<string[]> => (await readValues<{ id: string }>(log, 'inv')).map((r) => r.id).sort();
      const committed = async (): Promise<number | undefined> => (await log.committedOffsets('g', changes)).get(0);

      // Offset 1 finishes while 0 still runs: a commit could not cover it, so neither is its record written.
      assert.deepEqual(await writer.flush({ completions: [completion(1)], metrics: [] }), []);
      assert.deepEqual(await ids(), []);
      assert.equal(await committed(), undefined);

      // 0 finishes: 0 and 1 are written and committed together.
      assert.deepEqual(await writer.flush({ completions: [completion(0)], metrics: [] }), [{ topic: changes, partition: 0, offset: 2 }]);
      assert.deepEqual(await ids(), ['id-0', 'id-1']);
      assert.equal(await committed(), 2);

      // Abandoned work (shutdown) is recorded at once and holds its offset; what follows it waits.
      await writer.flush({ completions: [completion(3), completion(2, true)], metrics: [] });
      assert.deepEqual(await ids(), ['id-0', 'id-1', 'id-2']);
      assert.equal(await committed(), 2);
      assert.equal(stats.invocations.out, 3);
    } finally {
      await cleanup();
    }
  });
});
