import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPipeline } from '../../../src/pipeline/index.js';
import type { EventLog, SubscribeOptions } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { functionDef } from './helpers.js';
import { openTempLog, pipelineConfig, scriptedInvoker, waitFor } from './harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

describe('pipeline intake', () => {
  it('lets the event loop turn while it takes in a large source batch, not only after it', async () => {
    const prefix = `slices${process.pid}.`;
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes });
    const total = 3000;
    await log.append(changes, Array.from({ length: total }, (_, i) => ({ key: `orders:${i}`, value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: i }, commitTs: 1 }) })));
    // Counts the records the pipeline has taken from each batch; an immediate queued before a
    // batch is handed over reports how far intake had got when the event loop first turned.
    const turnsAt: Array<{ taken: number; of: number }> = [];
    const observed: EventLog = Object.create(log) as EventLog;
    observed.subscribe = (options: SubscribeOptions) =>
      log.subscribe({
        ...options,
        eachBatch: async (batch) => {
          let taken = 0;
          const records = batch.records;
          const counting = {
            ...batch,
            records: new Proxy(records, {
              get(target, property, receiver) {
                if (typeof property === 'string' && /^\d+$/.test(property)) taken = Math.max(taken, Number(property) + 1);
                return Reflect.get(target, property, receiver) as unknown;
              },
            }),
          };
          setImmediate(() => turnsAt.push({ taken, of: records.length }));
          await options.eachBatch(counting);
        },
      });
    const invoker = scriptedInvoker({ audit: () => ({ output: 'null' }) });
    const pipeline = createPipeline({
      log: observed, invoker, functions: [functionDef('audit', [{ type: 'database', table: 'orders', operations: ['INSERT'] }])],
      config: pipelineConfig({ highWatermark: 100_000, lowWatermark: 10 }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0,
    });
    await pipeline.start();
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === total, 15_000, 'every offset committed');
    await pipeline.stop();
    const large = turnsAt.filter((turn) => turn.of > 1000);
    assert.ok(large.length > 0, `a batch of more than 1000 records was delivered (batches: ${JSON.stringify(turnsAt)})`);
    for (const turn of large) assert.ok(turn.taken < turn.of, `the loop turned after ${turn.taken} of ${turn.of} records, not only after the whole batch`);
  });
});
