// The Helm chart, checked with the real helm (built from the Go module proxy by `make tools`):
// it lints, renders with and without the monitoring objects, and passes only settings the service knows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { collectProcessMetrics, createInvocationMetrics, createReplayMetrics, registerDroppedRecordsMetric, registerPipelineMetrics } from '../../src/api/index.js';
import { settings } from '../../src/config/index.js';
import { createSchedulerMetrics } from '../../src/scheduler/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = `${root}helm/aerodb-functions`;
const helm = (...args: string[]): string => execFileSync(`${root}.cache/bin/helm`, args, { encoding: 'utf8' });
const knownVariables = new Set(Object.values(settings).map((spec) => spec.env));

/** Every metric name /metrics serves, from the service's own metric factories on a fresh registry. */
async function exportedMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectProcessMetrics(registry);
  createInvocationMetrics(registry);
  createReplayMetrics(registry);
  registerDroppedRecordsMetric(() => 0, registry);
  registerPipelineMetrics(() => Promise.reject(new Error('no pipeline in this test')), registry);
  createSchedulerMetrics(registry);
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

/** The metric names a PromQL text uses (a histogram's series by their base name). */
const metricsIn = (text: string): string[] => [...new Set([...text.matchAll(/\b((?:aerofn|process|nodejs)_[a-z0-9_]+)/g)].map((match) => match[1]!.replace(/_(bucket|sum|count)$/, '')))];

describe('helm chart aerodb-functions', () => {
  it('passes helm lint', () => {
    assert.match(helm('lint', chart), /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders a deployment whose probes and settings match the service', () => {
    const out = helm('template', 'aerofn', chart, '--set', 'sandbox.workers=4', '--set', 'env.AEROFN_LOG_LEVEL=debug');
    assert.match(out, /kind: Deployment/);
    assert.match(out, /path: \/healthz/);
    assert.match(out, /path: \/readyz/);
    assert.match(out, /containerPort: 8080/);
    assert.match(out, /containerPort: 50051/);
    const variables = [...out.matchAll(/- name: ((?:AEROFN|DATABASE)_[A-Z_]+)/g)].map((match) => match[1]!);
    assert.ok(variables.includes('AEROFN_WORKERS') && variables.includes('AEROFN_JWT_SECRET'), variables.join(' '));
    for (const variable of variables) assert.ok(knownVariables.has(variable), `the chart sets ${variable}, which the service does not read`);
    assert.doesNotMatch(out, /kind: (ServiceMonitor|PrometheusRule)/);
  });

  it('starts Node with the flags of the aerofn command (NODE_OPTIONS = the shebang of bin/aerofn.js)', () => {
    const shebang = readFileSync(`${root}bin/aerofn.js`, 'utf8').split('\n')[0]!;
    const flags = /^#!\/usr\/bin\/env -S node (.+)$/.exec(shebang)?.[1];
    assert.ok(flags !== undefined && flags.includes('--max-semi-space-size='), shebang);
    const nodeOptions = (out: string): string | undefined => /- name: NODE_OPTIONS\n\s+value: "([^"]*)"/.exec(out)?.[1];
    assert.equal(nodeOptions(helm('template', 'aerofn', chart)), flags);
    assert.equal(nodeOptions(helm('template', 'aerofn', chart, '--set', 'nodeOptions=')), undefined, 'empty: Node\'s defaults');
  });

  it('renders the ServiceMonitor and alert rules on the metrics the service exports when asked', async () => {
    const out = helm('template', 'aerofn', chart, '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true');
    assert.match(out, /kind: ServiceMonitor/);
    assert.match(out, /kind: PrometheusRule/);
    const exported = await exportedMetricNames();
    const used = metricsIn(out);
    assert.ok(used.length >= 5, used.join(' '));
    for (const metric of used) assert.ok(exported.has(metric), `an alert uses ${metric}, which the service does not export`);
  });

  it('renders a Grafana dashboard for the sidecar when asked, on metrics the service exports', async () => {
    const out = helm('template', 'aerofn', chart, '--set', 'metrics.grafanaDashboard.enabled=true');
    const document = out.split(/^---$/m).find((part) => /kind: ConfigMap/.test(part) && /grafana_dashboard: "1"/.test(part));
    assert.ok(document !== undefined, out);
    const json = document.slice(document.indexOf('aerodb-functions.json: |-') + 'aerodb-functions.json: |-'.length);
    const dashboard = JSON.parse(json.split('\n').map((line) => line.replace(/^ {4}/, '')).join('\n')) as { uid: string; panels: Array<{ targets?: Array<{ expr: string }> }> };
    assert.equal(dashboard.uid, 'aerodb-functions');
    const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    assert.ok(exprs.length >= 15, `${exprs.length} queries`);
    const exported = await exportedMetricNames();
    for (const metric of metricsIn(exprs.join('\n'))) assert.ok(exported.has(metric), `the dashboard queries ${metric}, which the service does not export`);
    assert.doesNotMatch(helm('template', 'aerofn', chart), /grafana_dashboard/, 'off by default');
  });
});
