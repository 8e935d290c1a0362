import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, map, timer, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { fanOutInvoke, type InvocationTask } from '../../../src/pipeline/operators/fan-out-invoke.js';
import type { AttemptResult } from '../../../src/pipeline/operators/retry-backoff.js';
import type { Completion, Routed } from '../../../src/pipeline/types.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { functionDef, logRecord } from './helpers.js';

const newScheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

function recordFor(task: InvocationTask, attempt: number, ok: boolean): InvocationRecord {
  return {
    id: task.invocationId, function: task.fn.name, version: task.fn.version, sha256: task.fn.sha256, trigger: 'database',
    source: { topic: task.record.topic, partition: task.record.partition, offset: task.record.offset }, input: '{}',
    context: { invocationId: task.invocationId, function: task.fn.name, version: task.fn.version, trigger: 'database', role: serviceRoleContext.role, sub: null, claims: {}, attempt, now: 0 },
    journal: [], outcome: ok ? { ok: true, output: 'null' } : { ok: false, error: { kind: 'Timeout', code: 'AEROFN_TIMEOUT', httpStatus: 504, message: 'ran past timeoutMs' } },
    attempt, startedAt: new Date(0).toISOString(), durationMs: 1, memoryBytes: 0,
  };
}

const summary = (completion: Completion): string =>
  `${completion.record.offset}:${completion.invocations.map((r) => `${r.function}#${r.attempt}${r.outcome.ok ? '' : '!'}`).join(',')}` +
  `${completion.deadLetters.length > 0 ? `|dlq:${completion.deadLetters.map((d) => `${d.stage}:${d.function?.name ?? '-'}x${d.attempts}`).join(',')}` : ''}`;

describe('fanOutInvoke (marbles)', () => {
  const good = functionDef('good', [{ type: 'database', table: 't', operations: ['INSERT'] }]);
  const bad = functionDef('bad', [{ type: 'database', table: 't', operations: ['INSERT'] }], { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 100 });
  const event = { table: 't', schema: null, op: 'INSERT' as const, row: { id: 1 }, old: null, commitTs: 0, txId: null, context: null, triggerDepth: 0, format: 'aerodb' as const };

  it('completes a record once every function it triggered is recorded; a failing one retries then dead-letters', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const attempt = (task: InvocationTask, n: number) => timer(2).pipe(map((): AttemptResult => {
        const ok = task.fn.name === 'good';
        return { attempt: n, record: recordFor(task, n, ok), error: ok ? null : { kind: 'Timeout', code: 'AEROFN_TIMEOUT', httpStatus: 504, message: 'ran past timeoutMs' } };
      }));
      const values: Record<string, Routed> = {
        a: { kind: 'matched', record: logRecord(0, null, { key: 'k1' }), event, functions: [good, bad] },
        b: { kind: 'skip', record: logRecord(1, null), reason: 'no trigger matches' },
        c: { kind: 'dead', record: logRecord(2, 'x'), stage: 'decode', reason: 'value is not JSON', triggerDepth: null },
      };
      // bad: attempt 1 at 0-2, wait 5, attempt 2 at 7-9, wait 10, attempt 3 at 19-21 → completion at 21.
      expectObservable(cold('abc|', values).pipe(fanOutInvoke({ concurrency: 4, attempt }), map(summary))).toBe('-bc 18ms (a|)', {
        a: '0:good#1,bad#1!,bad#2!,bad#3!|dlq:invoke:badx3',
        b: '1:',
        c: '2:|dlq:decode:-x0',
      });
    });
  });

  it('gives redelivered records the same invocation ids and different functions different ones', () => {
    const ids: string[] = [];
    newScheduler().run(({ cold, expectObservable }) => {
      const attempt = (task: InvocationTask, n: number) => timer(1).pipe(map((): AttemptResult => {
        ids.push(`${task.fn.name}:${task.invocationId}`);
        return { attempt: n, record: recordFor(task, n, true), error: null };
      }));
      const matched: Routed = { kind: 'matched', record: logRecord(7, null, { key: 'k' }), event, functions: [good, { ...bad, config: good.config }] };
      expectObservable(cold('a-a|', { a: matched }).pipe(fanOutInvoke({ concurrency: 4, attempt }), map((c) => c.record.offset))).toBe('-a-(a|)', { a: 7 });
    });
    assert.equal(ids.length, 4);
    assert.equal(ids[0], ids[2]);
    assert.equal(ids[1], ids[3]);
    assert.notEqual(ids[0]?.split(':')[1], ids[1]?.split(':')[1]);
    assert.match(ids[0]?.split(':')[1] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('takes the callback path (startAttempt) for first attempts: per-key order, concurrency bound, retries through attempt, dead letters', async () => {
    const starts: string[] = [];
    let running = 0;
    let most = 0;
    const startAttempt = (task: InvocationTask, n: number, done: (result: AttemptResult) => void): void => {
      starts.push(`${task.record.key}:${task.record.offset}:${task.fn.name}`);
      running++;
      most = Math.max(most, running);
      // Later offsets answer sooner: only the lanes keep one key in order.
      setTimeout(() => {
        running--;
        const ok = task.fn.name === 'good';
        done({ attempt: n, record: recordFor(task, n, ok), error: ok ? null : { kind: 'Timeout', code: 'AEROFN_TIMEOUT', httpStatus: 504, message: 'ran past timeoutMs' } });
      }, 12 - (task.record.offset % 6) * 2);
    };
    const retries: number[] = [];
    const attempt = async (task: InvocationTask, n: number): Promise<AttemptResult> => {
      retries.push(n);
      return { attempt: n, record: recordFor(task, n, false), error: { kind: 'Timeout', code: 'AEROFN_TIMEOUT', httpStatus: 504, message: 'still too slow' } };
    };
    const items: Routed[] = Array.from({ length: 12 }, (_, offset) => ({ kind: 'matched', record: logRecord(offset, null, { key: `k${offset % 3}` }), event, functions: offset === 4 ? [good, bad] : [good] }));
    const completions = await lastValueFrom(from(items).pipe(fanOutInvoke({ concurrency: 2, attempt, startAttempt }), toArray()));
    assert.equal(most, 2);
    assert.deepEqual(completions.map((c) => c.record.offset).sort((a, b) => a - b), items.map((_, offset) => offset));
    for (const key of ['k0', 'k1', 'k2']) {
      const offsets = starts.filter((start) => start.startsWith(`${key}:`) && start.endsWith(':good')).map((start) => Number(start.split(':')[1]));
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `${key} in log order`);
    }
    assert.deepEqual(retries, [2, 3]);
    const withBad = completions.find((c) => c.record.offset === 4);
    assert.equal(withBad === undefined ? '' : summary(withBad), '4:good#1,bad#1!,bad#2!,bad#3!|dlq:invoke:badx3');
  });
});
