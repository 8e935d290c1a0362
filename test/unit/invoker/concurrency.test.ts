import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './invoker-helpers.js';

describe('invoker under concurrency: the per-worker ring of job slots', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({}, 2);
    await h.deploy('echo', 'echo');
    await h.deploy('loop', 'infinite-loop', { timeoutMs: 1000 });
    // Same module and memory limit, so one short run compiles and caches what 'loop' uses.
    await h.deploy('loop-warm-up', 'infinite-loop', { timeoutMs: 20 });
    await h.deploy('context', 'context');
  });
  after(async () => h.invoker.close());

  it('returns every one of 2,000 concurrent invocations its own output', async () => {
    const records = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => h.invoker.invoke(h.request('echo', JSON.stringify({ i, pad: 'x'.repeat(i % 300) })))),
    );
    records.forEach((record, i) => {
      assert.equal(record.outcome.ok, true);
      assert.deepEqual(JSON.parse(record.outcome.ok ? record.outcome.output : 'null'), { i, pad: 'x'.repeat(i % 300) });
    });
  });

  it('keeps inputs apart when several large payloads travel over the port at once', async () => {
    const payloads = Array.from({ length: 24 }, (_, i) => JSON.stringify({ i, blob: String(i % 10).repeat(70_000 + i) }));
    const records = await Promise.all(payloads.map((payload) => h.invoker.invoke(h.request('echo', payload))));
    records.forEach((record, i) => assert.deepEqual(record.outcome, { ok: true, output: payloads[i] }));
  });

  it('answers each concurrent context() call with its own invocation', async () => {
    const records = await Promise.all(Array.from({ length: 200 }, (_, i) => h.invoker.invoke(h.request('context', '{}', { invocationId: `ctx-${i}` }))));
    records.forEach((record, i) => {
      assert.equal((JSON.parse(record.outcome.ok ? record.outcome.output : '{}') as { invocationId: string }).invocationId, `ctx-${i}`);
    });
  });

  it('takes back jobs queued behind a guest that turns out slow, so they finish long before its timeout', async () => {
    await h.invoker.invoke(h.request('loop-warm-up'));
    await h.invoker.ready();
    // In one tick: the loop reaches a worker first and the echoes right after, while it still looks
    // quick, so some of them queue behind it.
    const started = performance.now();
    const looping = h.invoker.invoke(h.request('loop'));
    const echoes = await Promise.all(Array.from({ length: 40 }, (_, i) => h.invoker.invoke(h.request('echo', String(i)))));
    const echoesMs = performance.now() - started;
    echoes.forEach((record, i) => assert.deepEqual(record.outcome, { ok: true, output: String(i) }));
    assert.ok(echoesMs < 500, `echoes took ${echoesMs.toFixed(1)} ms next to a 1,000 ms loop`);
    const loop = await looping;
    assert.equal(loop.outcome.ok ? 'ok' : loop.outcome.error.kind, 'Timeout');
  });
});
