// Acceptance audit, issue 5 Build 4 and issue 3 Build 3: through the real sandbox (not a scripted
// invoker), a database-triggered function sees in context() the invocation id the pipeline derived
// from (topic, partition, offset, function, version), the same id again when the records are
// delivered a second time, and the RLS context of the change event (the service role when the event
// carries none).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import type { EventLog } from '../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline, invocationIdFor } from '../../src/pipeline/index.js';
import { compileFixture } from '../fixtures/wasm/compile-fixture.js';
import { openTempLog, pipelineConfig, readValues, waitFor } from './pipeline/harness.js';

const config = loadConfig({ AEROFN_WORKERS: '1' });

describe('audit: invocation id and RLS context reach a real guest through the pipeline', () => {
  let log: EventLog;
  let cleanup: () => Promise<void>;
  let invoker: SandboxInvoker;
  const functions = createInMemoryFunctions(config.sandbox.defaults);

  before(async () => {
    ({ log, cleanup } = await openTempLog());
    invoker = createInvoker({ functions, hostFunctions: {}, config: { ...config.sandbox, workers: 1 }, logger: silentLogger() });
    await invoker.ready();
    await functions.deploy('ctx', await compileFixture('context'), { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT'] }], config: { verifyJwt: false } });
  });
  after(async () => {
    await invoker.close();
    await cleanup();
  });

  async function runOnce(prefix: string, groupId: string): Promise<InvocationRecord[]> {
    const pipeline = createPipeline({ log, invoker, functions: functions.list(), config: pipelineConfig({ groupId, startFrom: 'earliest' }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0 });
    await pipeline.start();
    const changes = `${prefix}aerodb.changes`;
    await waitFor(async () => (await log.committedOffsets(groupId, changes)).get(0) === 3, 15_000, `group ${groupId} committed offset 3`);
    await pipeline.stop();
    return (await readValues<InvocationRecord>(log, pipeline.topics.invocations)).filter((r) => r.function === 'ctx');
  }

  it('shows the derived id in context(), the same on a second delivery, with the event\'s role or the service role', async () => {
    const prefix = `audit${process.pid}.`;
    const changes = `${prefix}aerodb.changes`;
    const claims = { role: 'authenticated', sub: 'user-a' };
    await log.ensureTopic({ name: changes, partitions: 1 });
    await log.append(changes, [
      { key: 'orders:1', value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: 1 }, commitTs: 1 }) },
      { key: 'orders:2', value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: 2 }, commitTs: 2, context: { role: 'authenticated', sub: 'user-a', claims } }) },
      { key: 'orders:3', value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: 3 }, commitTs: 3 }) },
    ]);

    const first = await runOnce(prefix, 'audit-group-one');
    assert.equal(first.length, 3, 'one invocation per event');
    for (const record of first) {
      assert.ok(record.outcome.ok, JSON.stringify(record.outcome));
      const seen = JSON.parse(record.outcome.ok ? record.outcome.output : 'null') as { invocationId: string; role: string; sub: string | null; trigger: string };
      const offset = record.source?.offset;
      assert.equal(typeof offset, 'number');
      const expected = invocationIdFor(changes, 0, offset!, 'ctx', 1);
      assert.equal(record.id, expected, 'the record id is derived from the source position');
      assert.equal(seen.invocationId, expected, 'the guest sees that id in context()');
      assert.equal(seen.trigger, 'database');
      if (offset === 1) {
        assert.equal(seen.role, 'authenticated');
        assert.equal(seen.sub, 'user-a');
      } else {
        assert.equal(seen.role, 'service_role', 'an event without a context runs as the service role');
        assert.equal(seen.sub, null);
      }
    }

    // A second consumer group delivers the same records again: the ids must not change.
    const second = await runOnce(prefix, 'audit-group-two');
    const idsAt = (records: InvocationRecord[]) => new Map(records.filter((r) => r.source !== undefined && r.source !== null).map((r) => [r.source!.offset, r.id]));
    const secondIds = idsAt(second.slice(3));
    assert.equal(secondIds.size, 3, 'the second group invoked each event once more');
    assert.deepEqual([...secondIds.entries()].sort(), [...idsAt(first).entries()].sort());
  });
});
