import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { createInMemoryFunctions, createInvoker, type InvokeRequest, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { compileFixture } from '../../fixtures/wasm/compile-fixture.js';
import { sandboxConfig } from './invoker-helpers.js';

/*
 * How deep one worker's ring fills (sandbox-pool.ts, depthFor): calls that come one by one
 * (invoke: REST, gRPC, schedules) stop at 8 per worker and wait in the pool's queue beyond that;
 * bursts from the stream processor (invokeWith) may fill the whole ring of 32. Counted right after
 * the calls are made, before any result is collected (that takes an event-loop turn; the lone-job
 * spin that could collect one sooner is off here).
 */
describe('sandbox ring depth per caller', () => {
  let invoker: SandboxInvoker;
  const request = (): InvokeRequest => ({ functionName: 'echo', payload: '{"n":1}', trigger: 'http', rls: serviceRoleContext });
  const flushMicrotasks = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };

  before(async () => {
    const functions = createInMemoryFunctions(sandboxConfig.defaults);
    invoker = createInvoker({ functions, config: { ...sandboxConfig, workers: 1 }, logger: silentLogger(), mainSpinMicros: 0 });
    await invoker.ready();
    await functions.deploy('echo', await compileFixture('echo'), {});
    // Warm: the module is compiled and sent to the worker.
    await invoker.invoke(request());
  });
  after(async () => {
    await invoker.close();
  });

  it('holds one-by-one calls to 8 per worker, the rest queued in the pool', async () => {
    const calls = Array.from({ length: 20 }, () => invoker.invoke(request()));
    await flushMicrotasks();
    assert.equal(invoker.stats().queued, 12);
    const records = await Promise.all(calls);
    assert.ok(records.every((record) => record.outcome.ok));
  });

  it('lets a burst from invokeWith fill the ring', async () => {
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      for (let i = 0; i < 20; i++) {
        invoker.invokeWith(request(), (record) => {
          assert.equal(record?.outcome.ok, true);
          if (++done === 20) resolve();
        });
      }
    });
    await flushMicrotasks();
    assert.equal(invoker.stats().queued, 0);
    await finished;
  });
});
