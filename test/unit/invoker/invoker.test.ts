import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FunctionError, type FunctionErrorKind } from '../../../src/errors/index.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { startHarness, type Harness } from './invoker-helpers.js';

function failure(record: InvocationRecord): { kind: FunctionErrorKind; httpStatus: number; message: string } {
  assert.equal(record.outcome.ok, false, `expected a failure, got ${JSON.stringify(record.outcome)}`);
  if (record.outcome.ok) throw new Error('unreachable');
  return record.outcome.error;
}

describe('invoker: guest fixtures through the full sandbox path', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.deploy('echo', 'echo');
    await h.deploy('trap', 'trap');
    await h.deploy('div', 'div-by-zero');
    await h.deploy('loop', 'infinite-loop', { timeoutMs: 100 });
    await h.deploy('bomb', 'memory-bomb', { memoryMb: 16 });
    await h.deploy('grow', 'grow-under-limit', { memoryMb: 16 });
    await h.deploy('recursion', 'deep-recursion');
    await h.deploy('recursion-small-stack', 'deep-recursion', { stackKb: 256 });
    await h.deploy('out-of-bounds', 'output-out-of-bounds');
    await h.deploy('not-json', 'output-not-json');
    await h.deploy('abort', 'abort');
    await h.deploy('flood', 'log-flood');
    await h.deploy('state', 'global-state');
    await h.deploy('memory-state', 'memory-state');
    await h.deploy('context', 'context');
    await h.deploy('disabled', 'echo', {}, { enabled: false });
  });
  after(async () => h.invoker.close());

  it('echoes its input and reports duration, peak memory and the record fields', async () => {
    const payload = JSON.stringify({ message: 'hello', n: [1, 2, 3], nested: { ok: true } });
    const record = await h.invoker.invoke(h.request('echo', payload, { invocationId: 'inv-1', attempt: 2 }));
    assert.deepEqual(record.outcome, { ok: true, output: payload });
    assert.equal(record.id, 'inv-1');
    assert.equal(record.attempt, 2);
    assert.equal(record.function, 'echo');
    assert.equal(record.version, 1);
    assert.match(record.sha256, /^[0-9a-f]{64}$/);
    assert.equal(record.memoryBytes, 65536);
    assert.ok(record.durationMs > 0 && record.durationMs < 1000);
    assert.deepEqual(record.journal, []);
    assert.equal(record.context.role, 'service_role');
  });

  const cases: Array<[name: string, kind: FunctionErrorKind, status: number, message: RegExp]> = [
    ['trap', 'RuntimePanic', 500, /unreachable/],
    ['div', 'RuntimePanic', 500, /divide by zero/],
    ['bomb', 'OutOfMemory', 507, /of its 16\.0 MiB limit/],
    ['recursion', 'StackOverflow', 500, /stack limit/],
    ['recursion-small-stack', 'StackOverflow', 500, /stack limit/],
    ['out-of-bounds', 'RuntimePanic', 500, /outside its 65536-byte memory/],
    ['not-json', 'RuntimePanic', 500, /not JSON/],
    ['abort', 'RuntimePanic', 500, /aborted: boom at a\.ts:7:3/],
  ];
  for (const [name, kind, status, message] of cases) {
    it(`ends ${name} as ${kind} (${status})`, async () => {
      const error = failure(await h.invoker.invoke(h.request(name)));
      assert.equal(error.kind, kind);
      assert.equal(error.httpStatus, status);
      assert.match(error.message, message);
    });
  }

  it('lets memory grow under the limit and reports the peak', async () => {
    const record = await h.invoker.invoke(h.request('grow'));
    assert.deepEqual(record.outcome, { ok: true, output: '{"pages":33}' });
    assert.equal(record.memoryBytes, 33 * 65536);
  });

  it('ends an infinite loop as Timeout (504) within timeoutMs + 50 ms while other invocations keep running', async () => {
    const before = h.invoker.stats();
    const started = performance.now();
    const looping = h.invoker.invoke(h.request('loop'));
    const echoes = await Promise.all(Array.from({ length: 20 }, (_, i) => h.invoker.invoke(h.request('echo', String(i)))));
    assert.ok(echoes.every((record, i) => record.outcome.ok && record.outcome.output === String(i)));
    const error = failure(await looping);
    const elapsed = performance.now() - started;
    assert.equal(error.kind, 'Timeout');
    assert.equal(error.httpStatus, 504);
    assert.ok(elapsed < 100 + 50, `took ${elapsed.toFixed(1)} ms`);
    const afterStats = h.invoker.stats();
    assert.equal(afterStats.replaced, before.replaced + 1);
    assert.equal(afterStats.workers, before.workers, 'the killed worker is replaced');
    const again = await h.invoker.invoke(h.request('echo', '"after"'));
    assert.deepEqual(again.outcome, { ok: true, output: '"after"' });
  });

  it('caps a log flood and stays responsive meanwhile', async () => {
    await h.invoker.ready(); // the worker the loop test replaced
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const flood = h.invoker.invoke(h.request('flood', '"spam"'));
    const started = performance.now();
    const echo = await h.invoker.invoke(h.request('echo', '"still here"'));
    const echoMs = performance.now() - started;
    const record = await flood;
    clearInterval(ticker);
    assert.deepEqual(echo.outcome, { ok: true, output: '"still here"' });
    assert.ok(echoMs < 50, `an echo during the flood took ${echoMs.toFixed(1)} ms`);
    assert.deepEqual(record.outcome, { ok: true, output: 'null' });
    const logs = record.journal.filter((entry) => entry.fn === 'log');
    assert.equal(logs.length, 100, 'config.sandbox.maxLogMessages entries kept');
    assert.deepEqual(JSON.parse(logs[0]!.request), { level: 1, message: '"spam"' });
    assert.ok(ticks >= 1, 'the main thread kept serving timers');
  });

  it('gives every invocation a fresh instance (a global does not survive)', async () => {
    const first = await h.invoker.invoke(h.request('state'));
    const second = await h.invoker.invoke(h.request('state'));
    assert.deepEqual(first.outcome, { ok: true, output: '{"calls":1}' });
    assert.deepEqual(second.outcome, { ok: true, output: '{"calls":1}' });
  });

  it('gives every invocation a zeroed memory (a byte written by one call is not seen by the next)', async () => {
    for (let i = 0; i < 20; i++) {
      const record = await h.invoker.invoke(h.request('memory-state'));
      assert.deepEqual(record.outcome, { ok: true, output: '{"seen":0}' }, `call ${i}`);
    }
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => h.invoker.invoke(h.request('memory-state'))));
    assert.ok(concurrent.every((record) => record.outcome.ok && record.outcome.output === '{"seen":0}'));
  });

  it('answers context() with the GuestContext and journals it', async () => {
    const record = await h.invoker.invoke(h.request('context', '{}', { invocationId: 'ctx-1', trigger: 'schedule', attempt: 3 }));
    assert.equal(record.outcome.ok, true);
    const context = JSON.parse(record.outcome.ok ? record.outcome.output : 'null') as Record<string, unknown>;
    assert.deepEqual(context, { ...record.context });
    assert.equal(context['invocationId'], 'ctx-1');
    assert.equal(context['trigger'], 'schedule');
    assert.equal(context['attempt'], 3);
    assert.equal(context['function'], 'context');
    assert.equal(typeof context['now'], 'number');
    assert.deepEqual(record.journal.map((entry) => entry.fn), ['context']);
  });

  it('passes a payload larger than the shared data region', async () => {
    const payload = JSON.stringify({ blob: 'x'.repeat(600_000) });
    const record = await h.invoker.invoke(h.request('echo', payload));
    assert.deepEqual(record.outcome, { ok: true, output: payload });
  });

  it('rejects an unknown function with NotFound (404) and a payload that is not JSON with BadRequest (400)', async () => {
    await assert.rejects(h.invoker.invoke(h.request('nope')), (error: unknown) => error instanceof FunctionError && error.kind === 'NotFound' && error.httpStatus === 404);
    await assert.rejects(h.invoker.invoke(h.request('echo', '{oops')), (error: unknown) => error instanceof FunctionError && error.kind === 'BadRequest' && error.httpStatus === 400);
  });

  it('refuses a disabled function with NotFound (404) whatever path calls it, and says how to enable it', async () => {
    await assert.rejects(h.invoker.invoke(h.request('disabled')), (error: unknown) => error instanceof FunctionError && error.kind === 'NotFound' && /is disabled; enable it/.test(error.message));
  });
});
