import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerPipelineMetrics } from '../../../src/api/index.js';
import type { TopologyDescription } from '../../../src/pipeline/index.js';
import { seriesValue } from '../../fixtures/prometheus-text.js';

const topology = (source: { in: number; out: number }, lag: number[]): TopologyDescription => ({
  text: '',
  state: 'running',
  mode: 'at_least_once',
  groupId: 'g',
  subTopologies: [
    {
      id: 0,
      nodes: [
        { name: 'change-source', kind: 'source', topics: ['aerodb.changes'], successors: ['decode'], predecessors: [], in: source.in, out: source.out, errors: 0, inFlight: 3, p50Ms: null, p99Ms: null },
      ],
    },
  ],
  lag: lag.map((records, partition) => ({ topic: 'aerodb.changes', partition, lag: records })),
  totalLag: lag.reduce((a, b) => a + b, 0),
});

const read = async (registry: Registry): Promise<(series: string) => number | undefined> => {
  const text = await registry.metrics();
  return (series) => seriesValue(text, series);
};

it('exports the topology counters at scrape time; a pipeline started later takes them over and they never go down', async () => {
  const registry = new Registry();
  let first = topology({ in: 10, out: 9 }, [4, 0, 2]);
  registerPipelineMetrics(async () => first, registry);
  let value = await read(registry);
  assert.equal(value('aerofn_pipeline_node_in_total{node="change-source"}'), 10);
  assert.equal(value('aerofn_pipeline_node_errors_total{node="change-source"}'), 0, 'a node without errors has its series at 0');
  assert.equal(value('aerofn_pipeline_node_out_total{node="change-source"}'), 9);
  assert.equal(value('aerofn_pipeline_node_in_flight{node="change-source"}'), 3);
  assert.equal(value('aerofn_pipeline_consumer_lag{topic="aerodb.changes",partition="0"}'), 4);
  assert.equal(value('aerofn_pipeline_consumer_lag{topic="aerodb.changes",partition="2"}'), 2);

  first = topology({ in: 15, out: 15 }, [0]);
  await new Promise((resolve) => setTimeout(resolve, 300)); // past one scrape's snapshot
  value = await read(registry);
  assert.equal(value('aerofn_pipeline_node_in_total{node="change-source"}'), 15);
  assert.equal(value('aerofn_pipeline_consumer_lag{topic="aerodb.changes",partition="2"}'), undefined, 'a partition no longer assigned leaves the lag gauge');

  // A new pipeline in the same process (a restart after a drain) counts from 0 again.
  registerPipelineMetrics(async () => topology({ in: 4, out: 4 }, [1]), registry);
  value = await read(registry);
  assert.equal(value('aerofn_pipeline_node_in_total{node="change-source"}'), 19);
  assert.equal(value('aerofn_pipeline_consumer_lag{topic="aerodb.changes",partition="0"}'), 1);
});

it('leaves the pipeline series out of a scrape while describe() fails, and the scrape still answers', async () => {
  const registry = new Registry();
  registerPipelineMetrics(async () => Promise.reject(new Error('stopping')), registry);
  const text = await registry.metrics();
  assert.doesNotMatch(text, /aerofn_pipeline_node_in_total\{/);
  assert.match(text, /# TYPE aerofn_pipeline_consumer_lag gauge/);
});

it('does not hold a scrape longer than two seconds when describe() hangs (a broker that does not answer)', async () => {
  const registry = new Registry();
  registerPipelineMetrics(() => new Promise<TopologyDescription>(() => {}), registry);
  const started = Date.now();
  const text = await registry.metrics();
  const took = Date.now() - started;
  assert.ok(took >= 1900 && took < 4000, `the scrape took ${took} ms`);
  assert.doesNotMatch(text, /aerofn_pipeline_node_in_total\{/);
});
