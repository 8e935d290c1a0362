import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupOffsets } from '../../../src/eventlog/embedded/group-offsets.js';

it('commits that arrive while a group\'s offsets are being written share the next write, in call order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aerofn-offsets-'));
  try {
    const store = await GroupOffsets.open(dir, true);
    // Two members of one group (two stream threads) committing at once, each its own partitions,
    // and a later commit of partition 0 that must win over the earlier one.
    const commits = Array.from({ length: 20 }, (_, i) => store.commit('g', [{ topic: 't', partition: i % 4, offset: i + 1 }]));
    await Promise.all(commits);
    assert.deepEqual([...store.committed('g', 't')].sort((a, b) => a[0] - b[0]), [[0, 17], [1, 18], [2, 19], [3, 20]]);
    // Made before the first write began, all twenty share it (one write each before).
    assert.equal(store.writes, 1);
    // What was written is what a reopen reads back.
    const reopened = await GroupOffsets.open(dir, true);
    assert.deepEqual(reopened.committed('g', 't'), store.committed('g', 't'));
    // A transaction's exclusive section closes the batch: a commit made after it runs after it.
    const order: string[] = [];
    const first = store.commit('g', [{ topic: 't', partition: 0, offset: 100 }]).then(() => order.push('commit before'));
    const txn = store.exclusive('g', async () => {
      order.push('txn');
      assert.equal(store.committed('g', 't').get(0), 100);
    });
    const after = store.commit('g', [{ topic: 't', partition: 0, offset: 200 }]).then(() => order.push('commit after'));
    await Promise.all([first, txn, after]);
    assert.deepEqual(order, ['commit before', 'txn', 'commit after']);
    assert.equal(store.committed('g', 't').get(0), 200);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
