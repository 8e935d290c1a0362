// Acceptance audit, issue 5 Build 4: "backpressure pauses the source above a high watermark of
// in-flight work and resumes below a low one". pipeline.test.ts proves the pause; this test proves
// the hysteresis: between each pause of the source subscription and the resume that follows, the
// committed offset advances by at least (high − low), so the source cannot resume as soon as
// in-flight work dips under the high watermark. (Flushes are one completion each, so a resume at
// the high watermark would show up as an advance of 1 or 2.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline } from '../../src/pipeline/index.js';
import { functionDef } from './pipeline/helpers.js';
import { observeSubscriptions, openTempLog, pipelineConfig, scriptedInvoker, sleep, waitFor } from './pipeline/harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

describe('audit: backpressure hysteresis', () => {
  it('resumes the source only after in-flight work fell from the high to the low watermark', async () => {
    const prefix = `audit${process.pid}-bp.`;
    const changes = `${prefix}aerodb.changes`;
    const high = 20;
    const low = 5;
    let committedOffset = 0;
    const events: Array<{ what: 'pause' | 'resume'; committed: number }> = [];
    // The same log, but the subscription reports its pause() and resume() calls, with the commit point then.
    const observed = new Proxy(observeSubscriptions(log, (what) => events.push({ what, committed: committedOffset })), {
      get(target, property, receiver) {
        if (property !== 'commitOffsets') return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<EventLog['commitOffsets']>): Promise<void> => {
          await target.commitOffsets(...args);
          for (const o of args[1]) if (o.topic === changes) committedOffset = Math.max(committedOffset, o.offset);
        };
      },
    });
    const invoker = scriptedInvoker({ slow: async () => (await sleep(3), { output: 'null' }) });
    const functions = [functionDef('slow', [{ type: 'database', table: 's', operations: ['INSERT'] }])];
    const pipeline = createPipeline({ log: observed, invoker, functions, config: pipelineConfig({ concurrency: 1, highWatermark: high, lowWatermark: low, groupId: `${prefix}g`, lingerMs: 0 }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0, maxBlockMs: 60_000, maxBatch: 1 });
    await pipeline.start();
    await log.append(changes, Array.from({ length: 120 }, (_, i) => ({ key: `s:${i}`, value: JSON.stringify({ table: 's', op: 'INSERT', row: { id: i } }) })));
    await waitFor(async () => (await log.committedOffsets(`${prefix}g`, changes)).get(0) === 120, 30_000, 'all committed');
    await pipeline.stop();
    const cycles: Array<[number, number]> = [];
    for (let i = 0; i < events.length; i += 1) {
      if (events[i]!.what !== 'pause') continue;
      const resume = events.slice(i + 1).find((e) => e.what === 'resume');
      if (resume !== undefined) cycles.push([events[i]!.committed, resume.committed]);
    }
    assert.ok(cycles.length >= 2, `the source paused and resumed repeatedly: ${JSON.stringify(events.slice(0, 10))}`);
    for (const [paused, resumed] of cycles) {
      assert.ok(resumed - paused >= high - low, `resumed after the commit point moved only ${resumed - paused} (pause at ${paused}, resume at ${resumed}); expected ≥ ${high - low}`);
    }
    assert.equal(invoker.calls.length, 120);
  });
});
