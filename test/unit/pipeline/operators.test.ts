import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { map, of, Subject, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { decodeRecords } from '../../../src/pipeline/operators/decode-records.js';
import { loopGuard } from '../../../src/pipeline/operators/loop-guard.js';
import { matchTriggers } from '../../../src/pipeline/operators/match-triggers.js';
import { invokeOrdered } from '../../../src/pipeline/operators/invoke-ordered.js';
import { backoffDelay, retryWithBackoff, type AttemptResult } from '../../../src/pipeline/operators/retry-backoff.js';
import { commitWatermark, type WatermarkSignal } from '../../../src/pipeline/operators/commit-watermark.js';
import type { Routed } from '../../../src/pipeline/types.js';
import { createTriggerIndex } from '../../../src/triggers/index.js';
import type { FunctionErrorJson } from '../../../src/errors/index.js';
import { functionDef, logRecord } from './helpers.js';

const newScheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const summary = (item: Routed): string => (item.kind === 'matched' ? `matched:${item.functions.map((fn) => fn.name).join('+')}` : item.kind === 'dead' ? `dead:${item.stage}` : item.kind);

describe('decodeRecords (marbles)', () => {
  it('turns records into events, skips tombstones and routes poison records to the DLQ without stopping', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const records = {
        a: logRecord(0, { table: 't', op: 'INSERT', row: { id: 1 } }),
        b: logRecord(1, 'not json at all'),
        c: logRecord(2, null),
        d: logRecord(3, { table: 't', op: 'DELETE', old: { id: 1 } }),
      };
      expectObservable(cold('a-b-c-d|', records).pipe(decodeRecords(), map(summary))).toBe('a-b-c-d|', { a: 'event', b: 'dead:decode', c: 'skip', d: 'event' });
    });
  });
});

describe('loopGuard (marbles)', () => {
  it('dead-letters events past the maximum trigger depth and passes the rest', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const at = (depth: number): Routed => ({ kind: 'event', record: logRecord(depth, null), event: { table: 't', schema: null, op: 'INSERT', row: {}, old: null, commitTs: 0, txId: null, context: null, triggerDepth: depth, format: 'aerodb' } });
      const values = { a: at(0), b: at(8), c: at(9), d: at(30) };
      expectObservable(cold('abcd|', values).pipe(loopGuard(8), map(summary))).toBe('abcd|', { a: 'event', b: 'event', c: 'dead:loop-guard', d: 'dead:loop-guard' });
    });
  });
});

describe('matchTriggers (marbles)', () => {
  it('looks each event up in the current index; no match becomes a committed skip', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let index = createTriggerIndex([functionDef('a', [{ type: 'database', table: 'orders', operations: ['INSERT'] }])]);
      const event = (offset: number, table: string): Routed => ({ kind: 'event', record: logRecord(offset, null), event: { table, schema: null, op: 'INSERT', row: {}, old: null, commitTs: 0, txId: null, context: null, triggerDepth: 0, format: 'aerodb' } });
      const values = { a: event(0, 'orders'), b: event(1, 'users'), c: event(2, 'orders') };
      const swap = cold('--x|').pipe(map(() => {
        index = createTriggerIndex([
          functionDef('a', [{ type: 'database', table: 'orders', operations: ['INSERT'] }]),
          functionDef('b', [{ type: 'database', table: 'orders', operations: ['INSERT'] }]),
        ]);
        return 'swapped';
      }));
      swap.subscribe();
      expectObservable(cold('a-bc|', values).pipe(matchTriggers(() => index), map(summary))).toBe('a-bc|', { a: 'matched:a', b: 'skip', c: 'matched:a+b' });
    });
  });
});

describe('invokeOrdered (marbles)', () => {
  const work = (item: { id: string; ms: number }) => timer(item.ms).pipe(map(() => item.id));

  it('keeps one key in arrival order while another key runs in parallel', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const items = { a: { id: 'x1', ms: 3 }, b: { id: 'x2', ms: 3 }, c: { id: 'y1', ms: 3 } };
      const keyOf = (item: { id: string }): string => item.id[0] as string;
      // x1 runs 0-3; x2 waits for x1 although a slot is free; y1 runs 2-5; x2 runs 3-6.
      expectObservable(cold('abc|', items).pipe(invokeOrdered(work, { concurrency: 2, keyOf }))).toBe('---a-c(b|)', { a: 'x1', b: 'x2', c: 'y1' });
    });
  });

  it('never runs more than `concurrency` at once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const items = { a: { id: 'a', ms: 2 }, b: { id: 'b', ms: 2 }, c: { id: 'c', ms: 2 } };
      expectObservable(cold('abc|', items).pipe(invokeOrdered(work, { concurrency: 1, keyOf: (item) => item.id }))).toBe('--a-b-(c|)', { a: 'a', b: 'b', c: 'c' });
    });
  });

  it('lets a slow key be overtaken by other keys but not by its own later events', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const items = { a: { id: 'k-slow', ms: 10 }, b: { id: 'j-1', ms: 1 }, c: { id: 'k-next', ms: 1 }, d: { id: 'j-2', ms: 1 } };
      const keyOf = (item: { id: string }): string => item.id[0] as string;
      expectObservable(cold('abcd|', items).pipe(invokeOrdered(work, { concurrency: 4, keyOf }))).toBe('--b-d 5ms a(c|)', { a: 'k-slow', b: 'j-1', c: 'k-next', d: 'j-2' });
    });
  });
});

describe('invokeOrdered (generated schedules)', () => {
  it('runs every item once, never more than `concurrency` at once, and each key in arrival order', async () => {
    // Few keys and many items make long lanes (their trimming), many keys make many short ones; the
    // items finish in a generated order, each started one chosen among those running.
    const schedule = fc.record({
      keys: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 300 }),
      concurrency: fc.integer({ min: 1, max: 8 }),
      picks: fc.array(fc.nat(), { minLength: 300, maxLength: 300 }),
      start: fc.constantFrom('callback', 'promise'),
    });
    await fc.assert(
      fc.asyncProperty(schedule, async ({ keys, concurrency, picks, start }) => {
        type Item = { readonly n: number; readonly key: string };
        const items: Item[] = keys.map((key, n) => ({ n, key: `k${key}` }));
        const running: Array<{ item: Item; done: (value: number) => void }> = [];
        const started: number[] = [];
        const emitted: number[] = [];
        let peak = 0;
        const source = new Subject<Item>();
        const track = (item: Item, done: (value: number) => void): void => {
          started.push(item.n);
          running.push({ item, done });
          peak = Math.max(peak, running.length);
        };
        let completed = false;
        source
          .pipe(
            invokeOrdered<Item, number>(
              (item) => new Promise<number>((resolve) => track(item, resolve)),
              { concurrency, keyOf: (item) => item.key, ...(start === 'callback' ? { start: (item: Item, done: (value: number) => void) => track(item, done) } : {}) },
            ),
          )
          .subscribe({ next: (n) => emitted.push(n), complete: () => (completed = true) });
        // Feed the items in bursts between completions, as the source does.
        let fed = 0;
        let step = 0;
        while (fed < items.length || running.length > 0) {
          const burst = Math.min(items.length - fed, 1 + ((picks[step] ?? 0) % 4));
          for (let i = 0; i < burst; i++) source.next(items[fed++] as Item);
          if (fed === items.length) source.complete();
          if (running.length > 0) {
            const [finished] = running.splice((picks[step] ?? 0) % running.length, 1);
            finished?.done(finished.item.n);
            // A Promise settles a microtask later: let the operator see it before the next step.
            if (start === 'promise') await new Promise((resolve) => setImmediate(resolve));
          }
          step++;
        }
        assert.ok(peak <= concurrency, `${peak} ran at once, the bound is ${concurrency}`);
        assert.deepEqual([...started].sort((a, b) => a - b), items.map((item) => item.n), 'every item started once');
        assert.deepEqual([...emitted].sort((a, b) => a - b), items.map((item) => item.n), 'every item emitted once');
        for (const key of new Set(items.map((item) => item.key))) {
          const order = started.filter((n) => items[n]?.key === key);
          assert.deepEqual(order, [...order].sort((a, b) => a - b), `key ${key} started out of order`);
        }
        assert.ok(completed, 'completes after the last item');
      }),
      { numRuns: 200 },
    );
  });
});

describe('retryWithBackoff (marbles)', () => {
  const error = (kind: FunctionErrorJson['kind']): FunctionErrorJson => ({ kind, code: 'X', httpStatus: 500, message: kind });
  const result = (attempt: number, failure: FunctionErrorJson | null): AttemptResult => ({ attempt, record: null, error: failure });

  it('retries a retriable failure after 10, then 20 ms and stops at the first success', () => {
    newScheduler().run(({ expectObservable }) => {
      const outcome = retryWithBackoff((n) => of(result(n, n < 3 ? error('Timeout') : null)), { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 1000 });
      expectObservable(outcome.pipe(map((r) => `${r.attempt}:${r.error?.kind ?? 'ok'}`))).toBe('a 9ms b 19ms (c|)', { a: '1:Timeout', b: '2:Timeout', c: '3:ok' });
    });
  });

  it('gives up after maxAttempts with backoff capped at maxBackoffMs', () => {
    newScheduler().run(({ expectObservable }) => {
      const outcome = retryWithBackoff((n) => of(result(n, error('HostFunctionError'))), { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 15 });
      expectObservable(outcome.pipe(map((r) => r.attempt))).toBe('a 9ms b 14ms c 14ms (d|)', { a: 1, b: 2, c: 3, d: 4 });
    });
  });

  it('does not retry a non-retriable kind', () => {
    newScheduler().run(({ expectObservable }) => {
      const outcome = retryWithBackoff((n) => of(result(n, error('RuntimePanic'))), { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 100 });
      expectObservable(outcome.pipe(map((r) => r.attempt))).toBe('(a|)', { a: 1 });
    });
  });

  it('computes exponential delays', () => {
    const policy = { maxAttempts: 10, initialBackoffMs: 100, maxBackoffMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n)), [100, 200, 400, 800, 1000]);
  });
});

describe('commitWatermark (marbles)', () => {
  it('commits only past the longest completed prefix, across gaps in the offsets', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const s = (type: WatermarkSignal['type'], offset: number, partition = 0): WatermarkSignal => ({ type, topic: 't', partition, offset });
      const signals = {
        a: s('received', 0), b: s('received', 1), c: s('received', 5), // 2-4 are a gap (transaction markers)
        d: s('recorded', 1), e: s('recorded', 0), f: s('recorded', 5),
        g: s('received', 0, 1), h: s('recorded', 0, 1),
      };
      const points = { x: { topic: 't', partition: 0, offset: 2 }, y: { topic: 't', partition: 0, offset: 6 }, z: { topic: 't', partition: 1, offset: 1 } };
      expectObservable(cold('abcdefgh|', signals).pipe(commitWatermark())).toBe('----xy-z|', points);
    });
  });
});
