import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import type { HostCallContext, HostFunctions } from '../../../src/wasm/index.js';
import { startHarness, type Harness } from './invoker-helpers.js';

const output = (record: InvocationRecord): string => {
  assert.equal(record.outcome.ok, true, JSON.stringify(record.outcome));
  return record.outcome.ok ? record.outcome.output : '';
};

describe('host-call bridge: async host functions answered synchronously to the guest', () => {
  let h: Harness;
  let bare: Harness;
  const seen: Array<{ request: string; context: HostCallContext }> = [];
  let hangingSignal: AbortSignal | undefined;
  const hostFunctions: HostFunctions = {
    async db_query(request, context) {
      seen.push({ request: Buffer.from(request).toString('utf8'), context });
      const text = Buffer.from(request).toString('utf8');
      if (text.includes('throw')) throw new Error('connection refused');
      if (text.includes('refuse')) return '{"error":{"message":"permission denied for table secrets"}}';
      if (text.includes('hang')) {
        hangingSignal = context.signal;
        return new Promise<string>(() => undefined);
      }
      if (text.includes('big')) return JSON.stringify({ rows: ['y'.repeat(400_000)], rowCount: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      return new TextEncoder().encode(JSON.stringify({ rows: [{ sql: JSON.parse(text).sql }], rowCount: 1 }));
    },
    async env(request) {
      return Buffer.from(request).toString('utf8') === '"KEY"' ? '"value"' : null;
    },
  };

  before(async () => {
    h = await startHarness(hostFunctions, 1);
    await h.deploy('host', 'host-calls', { timeoutMs: 300 });
    bare = await startHarness({}, 1);
    await bare.deploy('host', 'host-calls');
  });
  after(async () => {
    await h.invoker.close();
    await bare.invoker.close();
  });

  it('runs db_query on the main thread and returns its answer to the guest, journaled', async () => {
    const record = await h.invoker.invoke(h.request('host', '[1,{"sql":"select 1","params":[]}]', { invocationId: 'bridge-1' }));
    assert.deepEqual(JSON.parse(output(record)), { rows: [{ sql: 'select 1' }], rowCount: 1 });
    const last = seen.at(-1)!;
    assert.equal(last.request, '{"sql":"select 1","params":[]}');
    assert.equal(last.context.invocationId, 'bridge-1');
    assert.equal(last.context.functionName, 'host');
    assert.equal(last.context.rls.role, 'service_role');
    assert.ok(last.context.deadline > Date.now() - 1000);
    assert.deepEqual(record.journal.map((entry) => [entry.seq, entry.fn]), [[1, 'log'], [2, 'db_query']]);
    const call = record.journal[1]!;
    assert.equal(call.request, '{"sql":"select 1","params":[]}');
    assert.deepEqual(JSON.parse(call.response!), { rows: [{ sql: 'select 1' }], rowCount: 1 });
    assert.ok(call.durationMs >= 4);
  });

  it('answers env from the host function, and 0 (null) for an unset key', async () => {
    assert.equal(output(await h.invoker.invoke(h.request('host', '[3,"KEY"]'))), '"value"');
    const unset = await h.invoker.invoke(h.request('host', '[3,"OTHER"]'));
    assert.equal(output(unset), 'null');
    assert.equal(unset.journal.find((entry) => entry.fn === 'env')?.response, null);
  });

  it('carries host answers larger than the shared data region', async () => {
    const record = await h.invoker.invoke(h.request('host', '[1,{"sql":"big"}]'));
    assert.equal((JSON.parse(output(record)) as { rows: string[] }).rows[0]!.length, 400_000);
  });

  it('ends the invocation as HostFunctionError (500) when a host function throws', async () => {
    const record = await h.invoker.invoke(h.request('host', '[1,{"sql":"throw"}]'));
    assert.equal(record.outcome.ok, false);
    if (record.outcome.ok) return;
    assert.equal(record.outcome.error.kind, 'HostFunctionError');
    assert.equal(record.outcome.error.httpStatus, 500);
    assert.match(record.outcome.error.message, /db_query failed: connection refused/);
    assert.equal(record.journal.find((entry) => entry.fn === 'db_query')?.error, 'connection refused');
  });

  it('lets a guest handle a refusal, but a trap right after one is HostFunctionError', async () => {
    const handled = await h.invoker.invoke(h.request('host', '[1,{"sql":"refuse"}]'));
    assert.match(output(handled), /permission denied/);
    const trapped = await h.invoker.invoke(h.request('host', '[4,{"sql":"refuse"}]'));
    assert.equal(trapped.outcome.ok, false);
    if (trapped.outcome.ok) return;
    assert.equal(trapped.outcome.error.kind, 'HostFunctionError');
    assert.match(trapped.outcome.error.message, /permission denied for table secrets/);
  });

  it('aborts the host call signal when the invocation times out', async () => {
    const started = performance.now();
    const record = await h.invoker.invoke(h.request('host', '[1,{"sql":"hang"}]'));
    assert.equal(record.outcome.ok ? 'ok' : record.outcome.error.kind, 'Timeout');
    assert.ok(performance.now() - started < 300 + 50);
    assert.equal(hangingSignal?.aborted, true);
    assert.equal(output(await h.invoker.invoke(h.request('host', '[3,"KEY"]'))), '"value"');
  });

  it('answers "not available" for host functions the service did not provide', async () => {
    const db = await bare.invoker.invoke(bare.request('host', '[1,{"sql":"select 1"}]'));
    assert.deepEqual(JSON.parse(output(db)), { error: { message: 'db_query is not available in this sandbox' } });
    const http = await bare.invoker.invoke(bare.request('host', '[2,{"url":"http://example.com"}]'));
    assert.match(output(http), /http_fetch is not available/);
    assert.equal(output(await bare.invoker.invoke(bare.request('host', '[3,"KEY"]'))), 'null');
  });
});
