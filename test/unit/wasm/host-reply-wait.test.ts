import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { isErrorAnswer, ReplyWaiter } from '../../../src/wasm/host-reply-wait.js';
import { hostCallNames, Slot } from '../../../src/wasm/sandbox-protocol.js';

describe('host-call reply wait (the worker side)', () => {
  const channel = new SharedArrayBuffer(256);
  const ctrl = new Int32Array(channel);
  let replier: Worker;
  before(async () => {
    // A real second thread answers, as the main thread does: HOST_REPLY moves after the delay it is sent.
    replier = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const ctrl = new Int32Array(workerData);
       parentPort.on('message', (delayMs) => {
         const until = performance.now() + delayMs;
         while (performance.now() < until);
         Atomics.add(ctrl, ${Slot.HOST_REPLY}, 1);
         Atomics.notify(ctrl, ${Slot.HOST_REPLY});
       });
       parentPort.postMessage('ready');`,
      { eval: true, workerData: channel },
    );
    await new Promise((resolve) => replier.once('message', resolve));
  });
  after(async () => {
    await replier.terminate();
  });

  /** Posts a "host call" answered after `delayMs` and waits for it as the sandbox worker does; returns the wait in ms. */
  const call = (waiter: ReplyWaiter, fn: number, delayMs: number): number => {
    const lastReply = Atomics.load(ctrl, Slot.HOST_REPLY);
    const started = performance.now();
    replier.postMessage(delayMs);
    waiter.await(fn, lastReply, started);
    assert.notEqual(Atomics.load(ctrl, Slot.HOST_REPLY), lastReply, 'returned only after the reply');
    return performance.now() - started;
  };

  it('learns the shortest recent reply per host function and returns on each reply, whether it slept, spun or waited', { timeout: 30_000 }, () => {
    const dbQuery = hostCallNames.indexOf('db_query');
    const env = hostCallNames.indexOf('env');
    Atomics.store(ctrl, Slot.HOST_SPIN, 1);
    const waiter = new ReplyWaiter(ctrl, 1);
    assert.equal(waiter.shortestRecentReply(dbQuery), 0, 'no history: spin from the start');
    for (const delay of [6, 5, 7]) assert.ok(call(waiter, dbQuery, delay) >= delay);
    assert.equal(waiter.shortestRecentReply(dbQuery), 0, 'three replies are not enough to predict');
    assert.ok(call(waiter, dbQuery, 5) >= 5);
    const shortest = waiter.shortestRecentReply(dbQuery);
    assert.ok(shortest >= 5 && shortest < 1000, `shortest ${shortest} ms`);
    assert.equal(waiter.shortestRecentReply(env), 0, 'each host function has its own history');
    // Now it sleeps ~4.8 ms first: a reply during that sleep, during the spin after it, or after the spin ran out all end the wait.
    assert.ok(call(waiter, dbQuery, 1) >= 1, 'a reply while it sleeps wakes it');
    assert.ok(call(waiter, dbQuery, 5.2) >= 5.2, 'a reply while it spins');
    assert.ok(call(waiter, dbQuery, 12) >= 12, 'a reply after the spin ran out (Atomics.wait)');
    // Spins that keep missing (the reply comes after the spin) stop; the wait still ends on each reply.
    for (let i = 0; i < 4; i += 1) assert.ok(call(waiter, dbQuery, 8) >= 8);
    assert.ok(waiter.shortestRecentReply(dbQuery) <= shortest, 'the quick reply lowered the prediction');
    // Not alone any more (HOST_SPIN 0): no spinning, it waits in Atomics.wait and still returns.
    Atomics.store(ctrl, Slot.HOST_SPIN, 0);
    assert.ok(call(waiter, env, 2) >= 2);
  });

  it('keeps waiting through a notify that brings no reply (a late one from the previous reply), on any cell', { timeout: 30_000 }, async () => {
    const cells = new Int32Array(new SharedArrayBuffer(16));
    // A second thread notifies the cell at once without moving it, then moves it 150 ms later.
    const notifier = new Worker(
      `const { workerData } = require('node:worker_threads');
       const cells = new Int32Array(workerData);
       Atomics.notify(cells, 1);
       setTimeout(() => Atomics.notify(cells, 1), 50);
       setTimeout(() => { Atomics.store(cells, 1, 7); Atomics.notify(cells, 1); }, 150);`,
      { eval: true, workerData: cells.buffer },
    );
    try {
      const started = performance.now();
      new ReplyWaiter(ctrl, 0).await(0, 0, started, cells, 1);
      assert.equal(Atomics.load(cells, 1), 7, 'returned only once the cell moved');
      assert.ok(performance.now() - started >= 100, 'not on the notifies before it');
    } finally {
      await notifier.terminate();
    }
  });
});

describe('isErrorAnswer', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  it('recognises {"error":…} with whitespace around the brace, and nothing else', () => {
    assert.equal(isErrorAnswer(bytes('{"error":{"message":"x"}}')), true);
    assert.equal(isErrorAnswer(bytes(' \n{ "error" : 1}')), true);
    assert.equal(isErrorAnswer(bytes('{"rows":[],"rowCount":0}')), false);
    assert.equal(isErrorAnswer(bytes('"error"')), false);
    assert.equal(isErrorAnswer(bytes('{"err')), false);
    assert.equal(isErrorAnswer(bytes('')), false);
  });
});
