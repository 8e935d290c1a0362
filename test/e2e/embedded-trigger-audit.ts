import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationRecord } from '../../src/invoker/index.js';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { deploy, request, startHarness, type Harness } from './api-harness.js';
import { dbQueryGuestWat } from '../fixtures/wasm/wat-parts.js';
import { seriesValue } from '../fixtures/prometheus-text.js';

/**
 * The audit below, for the service as `aerofn serve` composes it with `env` on top of the
 * harness's settings (test/e2e/audit-embedded-trigger*.test.ts; one process each, since the
 * Prometheus registry is the process's).
 */
export function describeEmbeddedTriggerAudit(title: string, env: Record<string, string> = {}): void {
  describe(title, () => {
    let h: Harness;
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'aerofn-audit-trigger-'));
      const schema = join(dir, 'schema.sql');
      await writeFile(schema, 'create table if not exists audit_items (id bigserial primary key, n int not null);\ngrant select, insert on audit_items to service_role;\ngrant usage on sequence audit_items_id_seq to service_role;\n');
      h = await startHarness({ AEROFN_INIT_SQL: schema, ...env });
    });
    after(async () => {
      await h.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('runs the triggered function once per inserted row', async () => {
      const writer = Buffer.from(await watToWasm(dbQueryGuestWat('insert into audit_items (n) select g from generate_series(1, 25) g'))).toString('base64');
      const deployedWriter = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'fill', wasm: writer } });
      assert.equal(deployedWriter.status, 201, deployedWriter.text);
      const trigger = await deploy(h, 'on-item', 'echo', { triggers: [{ type: 'database', table: 'audit_items', operations: ['INSERT'] }] });
      assert.equal(trigger.status, 201, trigger.text);

      const filled = await request(h, 'POST', '/functions/v1/fill', { json: {}, token: h.tokens.serviceRole });
      assert.equal(filled.status, 200, filled.text);
      assert.equal((filled.body as { rowCount: number }).rowCount, 25);

      const records = async (): Promise<InvocationRecord[]> => {
        const listed = await request(h, 'GET', '/functions/v1/on-item/invocations?limit=100', { token: h.tokens.serviceRole });
        assert.equal(listed.status, 200, listed.text);
        return (listed.body as { invocations: InvocationRecord[] }).invocations;
      };
      const deadline = Date.now() + 30_000;
      while ((await records()).length < 25 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const seen = await records();
      assert.equal(seen.length, 25, `once per row: ${seen.length} invocations`);
      const ns = seen.map((r) => (JSON.parse(r.input) as { row: { n: number } }).row.n).sort((a, b) => a - b);
      assert.deepEqual(ns, Array.from({ length: 25 }, (_, i) => i + 1));
      assert.ok(seen.every((r) => r.trigger === 'database' && r.outcome.ok));
      // The write came from a function invoked as service_role: the change carries that context.
      assert.ok(seen.every((r) => r.context.role === 'service_role'), JSON.stringify(seen[0]?.context));

      // /metrics: the writer's statement as a host call, the pipeline's nodes and its consumer lag.
      const scrape = async (): Promise<{ text: string; value: (series: string) => number | undefined }> => {
        const text = (await request(h, 'GET', '/metrics')).text;
        return { text, value: (series: string) => seriesValue(text, series) };
      };
      const { text: metrics, value } = await scrape();
      assert.equal(value('aerofn_host_calls_total{function="fill",host_function="db_query",outcome="ok"}'), 1, metrics);
      assert.equal(value('aerofn_host_call_duration_seconds_count{function="fill",host_function="db_query"}'), 1);
      // Every triggered run counts, wherever the pipeline ran it (a stream thread sends its records' counts here).
      assert.equal(value('aerofn_invocations_total{function="on-item",trigger="database",outcome="ok"}'), 25, metrics);
      assert.ok((value('aerofn_pipeline_node_in_total{node="change-source"}') ?? 0) >= 25, metrics);
      assert.equal(value('aerofn_pipeline_node_out_total{node="invoke"}'), 25, 'one invocation per row');
      assert.equal(value('aerofn_pipeline_node_in_flight{node="invoke"}'), 0);
      const lags = [...metrics.matchAll(/^aerofn_pipeline_consumer_lag\{topic="([^"]+)",partition="(\d+)"\} (\d+)$/gm)];
      assert.ok(lags.length > 0 && lags.every((lag) => lag[1]!.endsWith('aerodb.changes') && lag[3] === '0'), lags.map((lag) => lag[0]).join('\n'));
      const again = (await scrape()).value;
      assert.equal(again('aerofn_pipeline_node_in_total{node="change-source"}'), value('aerofn_pipeline_node_in_total{node="change-source"}'), 'a scrape counts only what happened since the last one');
      assert.equal(again('aerofn_pipeline_node_out_total{node="invoke"}'), 25);
    });
  });
}
