import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightInvocations, type Join, type Work } from '../../../src/pipeline/in-flight.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import type { InvocationTask } from '../../../src/pipeline/types.js';
import { functionDef } from './helpers.js';

const fn = functionDef('f', [{ type: 'database', table: 't', operations: ['INSERT'] }]);
const join = (offset: number): Join => ({ pending: 1, record: { topic: 't', partition: 0, offset, key: null, value: null, headers: {}, timestamp: 0 }, invocations: [], deadLetters: [] });
const work = (j: Join, attempt = 1): Work => ({
  join: j,
  task: { record: j.record, event: { table: 't', schema: null, op: 'INSERT', row: { id: j.record.offset }, old: null, triggerDepth: 0 }, fn, invocationId: `id-${j.record.offset}` } as unknown as InvocationTask,
  attempt,
  startedAt: 100,
  finished: null,
  linked: false,
  prev: null,
  next: null,
});
const fake = (task: InvocationTask, attempt: number): InvocationRecord => ({ id: task.invocationId, attempt } as unknown as InvocationRecord);

describe('InFlightInvocations', () => {
  it('unlinks settled tasks from anywhere in the list and abandons the rest oldest first', () => {
    const tracker = new InFlightInvocations();
    const tasks = [0, 1, 2, 3, 4].map((offset) => work(join(offset)));
    for (const task of tasks) tracker.add(task);
    assert.equal(tracker.size, 5);
    // head (newest), middle, tail (oldest)
    for (const i of [4, 2, 0]) assert.equal(tracker.settle(tasks[i]!), true);
    assert.equal(tracker.settle(tasks[2]!), true, 'settling twice is harmless');
    assert.equal(tracker.size, 2);
    const completions = tracker.abandon(fake);
    assert.deepEqual(completions.map((c) => [c.record.offset, c.abandoned, c.invocations.map((r) => r.id)]), [
      [1, true, ['id-1']],
      [3, true, ['id-3']],
    ]);
    assert.equal(tracker.size, 0);
    assert.equal(tracker.settle(tasks[1]!), false, 'a late result of an abandoned task is not recorded');
    tracker.add(work(join(9)));
    assert.equal(tracker.size, 0, 'nothing is tracked after abandon');
  });

  it('gives a queued task no record but keeps what its record finished already', () => {
    const tracker = new InFlightInvocations();
    const shared = join(7);
    shared.invocations.push(fake(work(shared).task, 1));
    tracker.add(work(shared, 0));
    tracker.add(work(join(8), 0));
    const completions = tracker.abandon(fake);
    assert.deepEqual(completions.map((c) => [c.record.offset, c.invocations.length]), [[7, 1]]);
  });
});
