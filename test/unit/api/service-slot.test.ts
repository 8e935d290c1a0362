import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServiceSlot, type FunctionsService } from '../../../src/api/index.js';
import { FunctionError } from '../../../src/errors/index.js';

describe('service slot', () => {
  it('answers Unavailable and not ready until filled, then delegates, then is not ready once draining', async () => {
    const slot = createServiceSlot();
    assert.equal(slot.service.ready(), false);
    assert.equal(slot.service.stateHash(), '');
    assert.throws(() => slot.service.list(), (error: unknown) => error instanceof FunctionError && error.kind === 'Unavailable');
    await assert.rejects(slot.service.topology(), (error: unknown) => error instanceof FunctionError && error.kind === 'Unavailable');

    let registryReady = false;
    const calls: string[] = [];
    const real = {
      list: () => {
        calls.push('list');
        return [];
      },
      stateHash: () => 'abc',
      ready: () => registryReady,
    } as unknown as FunctionsService;
    slot.fill(real);
    assert.deepEqual(slot.service.list(), []);
    assert.equal(slot.service.stateHash(), 'abc');
    assert.equal(slot.service.ready(), false, 'the registry decides readiness');
    registryReady = true;
    assert.equal(slot.service.ready(), true);
    slot.drain();
    assert.equal(slot.service.ready(), false);
    assert.deepEqual(calls, ['list']);
  });
});
