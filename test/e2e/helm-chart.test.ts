// The Helm chart, checked with the real helm (built from the Go module proxy by `make tools`):
// it lints, renders with and without the monitoring objects, and passes only settings the service knows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { settings } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = `${root}helm/aerodb-functions`;
const helm = (...args: string[]): string => execFileSync(`${root}.cache/bin/helm`, args, { encoding: 'utf8' });
const knownVariables = new Set(Object.values(settings).map((spec) => spec.env));

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

  it('renders the ServiceMonitor and alert rules on the metrics the service exports when asked', () => {
    const out = helm('template', 'aerofn', chart, '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true');
    assert.match(out, /kind: ServiceMonitor/);
    assert.match(out, /kind: PrometheusRule/);
    for (const metric of out.matchAll(/\b(aerofn_[a-z_]+?)(?:_bucket)?\b/g)) {
      assert.ok(['aerofn_invocations_total', 'aerofn_invocation_duration_seconds', 'aerofn_invocation_records_dropped_total', 'aerofn_host_call_duration_seconds', 'aerofn_pipeline_consumer_lag'].includes(metric[1]!), `alert uses unknown metric ${metric[0]}`);
    }
  });
});
