import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { startHarness, type Harness } from './invoker-helpers.js';

/** invokeWith as a Promise, checking that the callback is called once and never synchronously. */
function invokeWith(h: Harness, request: Parameters<Harness['invoker']['invoke']>[0]): Promise<InvocationRecord> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    let returned = false;
    h.invoker.invokeWith(request, (record, error) => {
      calls++;
      if (!returned) reject(new Error('invokeWith called back synchronously'));
      setImmediate(() => (calls === 1 ? undefined : reject(new Error(`called back ${calls} times`))));
      if (record !== undefined) resolve(record);
      else reject(error as Error);
    });
    returned = true;
  });
}

describe('invoker: invokeWith (the callback path the pipeline uses)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.deploy('echo', 'echo');
    await h.deploy('trap', 'trap');
    await h.deploy('loop', 'infinite-loop', { timeoutMs: 100 });
    await h.deploy('ctx', 'context');
  });
  after(async () => {
    await h.invoker.close();
  });

  it('gives the record invoke gives (first call compiles the module, later ones take the cached one)', async () => {
    const request = h.request('echo', '{"n":1}', { invocationId: 'inv-1', attempt: 2, source: { topic: 't', partition: 0, offset: 5 }, trigger: 'database' });
    const first = await invokeWith(h, request);
    const second = await invokeWith(h, request);
    const viaPromise = await h.invoker.invoke(request);
    for (const record of [first, second]) {
      assert.deepEqual(record.outcome, { ok: true, output: '{"n":1}' });
      const strip = ({ startedAt: _s, durationMs: _d, context, ...rest }: InvocationRecord): unknown => ({ ...rest, context: { ...context, now: 0 } });
      assert.deepEqual(strip(record), strip(viaPromise));
    }
  });

  it('delivers guest failures as records and refusals as errors', async () => {
    const trapped = await invokeWith(h, h.request('trap'));
    assert.equal(trapped.outcome.ok, false);
    const timedOut = await invokeWith(h, h.request('loop'));
    assert.equal(timedOut.outcome.ok ? null : timedOut.outcome.error.kind, 'Timeout');
    await assert.rejects(invokeWith(h, h.request('nope')), { kind: 'NotFound' });
    await assert.rejects(invokeWith(h, h.request('echo', '{not json')), { kind: 'BadRequest' });
  });

  it('runs many at once and answers each with its own record', async () => {
    const records = await Promise.all(Array.from({ length: 200 }, (_, i) => invokeWith(h, h.request(i % 2 === 0 ? 'echo' : 'ctx', `{"i":${i}}`, { invocationId: `id-${i}` }))));
    records.forEach((record, i) => {
      assert.equal(record.id, `id-${i}`);
      assert.equal(record.outcome.ok, true);
      if (i % 2 === 0) assert.deepEqual(record.outcome, { ok: true, output: `{"i":${i}}` });
      else assert.equal(JSON.parse(record.outcome.ok ? record.outcome.output : 'null').invocationId, `id-${i}`);
    });
  });

  it('surfaces an exception thrown by a callback without losing the other results', async () => {
    const uncaught: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (error) => uncaught.push(error));
    try {
      const other = new Promise<InvocationRecord | undefined>((resolve) => h.invoker.invokeWith(h.request('echo'), (record) => resolve(record)));
      h.invoker.invokeWith(h.request('echo'), () => {
        throw new Error('callback bug');
      });
      assert.equal((await other)?.outcome.ok, true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(uncaught.map((error) => (error as Error).message), ['callback bug']);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of listeners) process.on('uncaughtException', listener);
    }
  });

  it('answers Unavailable once the invoker is closed', async () => {
    const closing = await startHarness(undefined, 1);
    await closing.deploy('echo', 'echo');
    await closing.invoker.close();
    await assert.rejects(invokeWith(closing, closing.request('echo')), { kind: 'Unavailable' });
  });
});
