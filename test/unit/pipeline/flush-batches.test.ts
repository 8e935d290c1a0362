import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BehaviorSubject, Subject, lastValueFrom, toArray } from 'rxjs';
import { flushBatches } from '../../../src/pipeline/operators/flush-batches.js';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('flushBatches', () => {
  it('runs one flush at a time and gives the next flush everything that arrived meanwhile', async () => {
    const input = new Subject<number | 'tick'>();
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const flush = async (batch: number[]): Promise<void> => {
      batches.push(batch);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
    };
    const sizes = lastValueFrom(input.pipe(flushBatches(flush, { lingerMs: 1, maxBatch: 100 }), toArray()));
    input.next(1);
    await until(() => batches.length === 1);
    for (let i = 2; i <= 50; i += 1) input.next(i);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(batches.length, 1, 'the second flush waits for the first');
    release();
    input.complete();
    assert.deepEqual(await sizes, [1, 49]);
    assert.deepEqual(batches[1], Array.from({ length: 49 }, (_, i) => i + 2));
  });

  it('splits at maxBatch and calls flush([]) for a tick', async () => {
    const input = new Subject<number | 'tick'>();
    const batches: number[][] = [];
    const sizes = lastValueFrom(input.pipe(flushBatches(async (batch: number[]) => void batches.push(batch), { lingerMs: 1, maxBatch: 3 }), toArray()));
    for (let i = 0; i < 7; i += 1) input.next(i);
    await until(() => batches.length === 3);
    input.next('tick');
    await until(() => batches.length === 4);
    input.complete();
    assert.deepEqual(await sizes, [3, 3, 1, 0]);
  });

  it('does not linger while hurried, and lingers again after', async () => {
    const input = new Subject<number | 'tick'>();
    const hurry = new BehaviorSubject(false);
    const batches: number[][] = [];
    const sizes = lastValueFrom(input.pipe(flushBatches(async (batch: number[]) => void batches.push(batch), { lingerMs: 60_000, maxBatch: 100, hurry }), toArray()));
    input.next(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(batches.length, 0, 'the first item lingers');
    hurry.next(true);
    await until(() => batches.length === 1);
    assert.deepEqual(batches[0], [1], 'hurrying cut the linger short');
    input.next(2);
    await until(() => batches.length === 2);
    assert.deepEqual(batches[1], [2], 'while hurried an item is flushed without lingering');
    hurry.next(false);
    input.next(3);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(batches.length, 2, 'after the hurry the next item lingers again');
    input.complete();
    assert.deepEqual(await sizes, [1, 1, 1]);
  });

  it('flushes a lingering batch at once when the source completes', async () => {
    const input = new Subject<number | 'tick'>();
    const batches: number[][] = [];
    const sizes = lastValueFrom(input.pipe(flushBatches(async (batch: number[]) => void batches.push(batch), { lingerMs: 60_000, maxBatch: 100 }), toArray()));
    input.next(1);
    input.next(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    input.complete();
    const began = Date.now();
    assert.deepEqual(await sizes, [2]);
    assert.ok(Date.now() - began < 1000, `completed without waiting out the linger (${Date.now() - began} ms)`);
  });

  it('fails the stream when a flush fails', async () => {
    const input = new Subject<number | 'tick'>();
    const done = lastValueFrom(input.pipe(flushBatches(async () => { throw new Error('disk full'); }, { lingerMs: 1, maxBatch: 3 })));
    input.next(1);
    await assert.rejects(done, /disk full/);
  });
});
