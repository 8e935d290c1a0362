import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostFunctions } from '../../../src/wasm/index.js';
import { startHarness, type Harness } from './invoker-helpers.js';

/*
 * The main thread spins on the channel after each host-call reply and serves the guest's next call
 * without an event-loop turn; these check it never holds the loop long enough to break timeouts.
 */
describe('host-call bridge: host functions that answer at once', () => {
  let h: Harness;
  let calls = 0;
  const hostFunctions: HostFunctions = {
    db_query() {
      calls++;
      return Promise.resolve(`{"n":${calls}}`);
    },
  };

  before(async () => {
    h = await startHarness(hostFunctions, 1);
    await h.deploy('loop', 'host-call-loop', { timeoutMs: 200 });
    // Correctness only: a generous timeout, so a machine busy with other tests cannot fail it.
    await h.deploy('loop-ordered', 'host-call-loop', { timeoutMs: 10_000 });
  });
  after(async () => {
    await h.invoker.close();
  });

  it('answers every call in order and journals each one', async () => {
    const before = calls;
    const record = await h.invoker.invoke(h.request('loop-ordered', '500'));
    assert.equal(record.outcome.ok, true, JSON.stringify(record.outcome));
    assert.equal(calls - before, 500);
    assert.equal(record.outcome.ok && record.outcome.output, `{"n":${calls}}`);
    const queries = record.journal.filter((entry) => entry.fn === 'db_query');
    assert.equal(queries.length, 500);
    assert.deepEqual(queries.map((entry) => entry.seq), Array.from({ length: 500 }, (_, i) => i + 1));
    assert.equal(queries[0]!.request, '{}');
    assert.equal(queries[0]!.response, `{"n":${before + 1}}`);
  });

  it('still times out a guest calling them in an endless loop, and timers keep running meanwhile', async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const started = performance.now();
    const record = await h.invoker.invoke(h.request('loop', '2000000000'));
    const took = performance.now() - started;
    clearInterval(interval);
    assert.equal(record.outcome.ok ? 'ok' : record.outcome.error.kind, 'Timeout');
    assert.ok(took < 200 + 100, `took ${took} ms`);
    // 10 ms ticks over ~200 ms: about 20 when the loop is free, 0-1 if the spin held it; a loaded
    // machine (the suite runs files side by side on 2 cores) delays some, so half is the bar.
    assert.ok(ticks >= 5, `only ${ticks} timer ticks ran`);
    const next = await h.invoker.invoke(h.request('loop-ordered', '3'));
    assert.equal(next.outcome.ok, true, JSON.stringify(next.outcome));
  });
});
