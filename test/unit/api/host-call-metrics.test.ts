import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createInvocationMetrics } from '../../../src/api/index.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { seriesValue } from '../../fixtures/prometheus-text.js';

type JournalEntry = InvocationRecord['journal'][number];

const entry = (seq: number, fn: JournalEntry['fn'], response: string | null, durationMs: number, error?: string): JournalEntry => ({
  seq,
  fn,
  request: fn === 'log' ? '{"level":1,"message":"hi"}' : '{}',
  response,
  startedAt: 1_795_840_000_000,
  durationMs,
  ...(error === undefined ? {} : { error }),
});

function record(fn: string, trigger: InvocationRecord['trigger'], journal: JournalEntry[]): InvocationRecord {
  return {
    id: `id-${fn}`,
    function: fn,
    version: 1,
    sha256: 'a'.repeat(64),
    trigger,
    source: null,
    input: '{}',
    context: { invocationId: `id-${fn}`, function: fn, version: 1, trigger, role: 'service_role', sub: null, claims: { role: 'service_role' }, attempt: 1, now: 1_795_840_000_000 },
    journal,
    outcome: { ok: true, output: 'null' },
    attempt: 1,
    startedAt: '2026-11-28T05:00:00.000Z',
    durationMs: 3,
    memoryBytes: 65536,
  };
}

const value = seriesValue;

it('counts host calls from the records\' journals by function, host function and outcome, with their durations', async () => {
  const registry = new Registry();
  const metrics = createInvocationMetrics(registry);
  metrics.observe(
    record('notes', 'http', [
      entry(1, 'db_query', '{"rows":[],"rowCount":0}', 0.2),
      entry(2, 'log', null, 0),
      entry(3, 'db_query', ' {"error":{"message":"permission denied for table notes","code":"42501"}}', 0.3),
      entry(4, 'context', '{}', 0),
      entry(5, 'env', null, 0.01),
      entry(6, 'http_fetch', null, 40, 'connect ECONNREFUSED 127.0.0.1:9'),
    ]),
  );
  metrics.observe(record('notes', 'database', [entry(1, 'db_query', '{"rows":[{"n":1}],"rowCount":1}', 1200)]));
  const text = await registry.metrics();
  assert.equal(value(text, 'aerofn_host_calls_total{function="notes",host_function="db_query",outcome="ok"}'), 2);
  assert.equal(value(text, 'aerofn_host_calls_total{function="notes",host_function="db_query",outcome="error"}'), 1, 'an {"error"} answer (a failed statement) is outcome error');
  assert.equal(value(text, 'aerofn_host_calls_total{function="notes",host_function="env",outcome="ok"}'), 1, 'an unset key (null) is an answer');
  assert.equal(value(text, 'aerofn_host_calls_total{function="notes",host_function="http_fetch",outcome="threw"}'), 1);
  assert.doesNotMatch(text, /host_function="(log|context)"/, 'log lines and context() are no host calls');
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_count{function="notes",host_function="db_query"}'), 3);
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_bucket{le="0.00025",function="notes",host_function="db_query"}'), 1, '0.2 ms');
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_bucket{le="0.0005",function="notes",host_function="db_query"}'), 2, '0.3 ms');
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_bucket{le="1",function="notes",host_function="db_query"}'), 2, 'the 1.2 s statement is above 1 s');
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_bucket{le="2.5",function="notes",host_function="db_query"}'), 3);
  assert.equal(value(text, 'aerofn_host_call_duration_seconds_sum{function="notes",host_function="db_query"}'), 1.2005);
});
