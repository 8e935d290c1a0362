import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerDroppedRecordsMetric } from '../../../src/api/index.js';
import { seriesValue } from '../../fixtures/prometheus-text.js';

const scrape = async (registry: Registry): Promise<number> =>
  Number(seriesValue(await registry.getSingleMetricAsString('aerofn_invocation_records_dropped_total'), 'aerofn_invocation_records_dropped_total'));

it('aerofn_invocation_records_dropped_total follows the dropped count and never goes down when a new server takes over', async () => {
  const registry = new Registry();
  let first = 0;
  registerDroppedRecordsMetric(() => first, registry);
  assert.equal(await scrape(registry), 0);
  first = 7;
  assert.equal(await scrape(registry), 7);
  assert.equal(await scrape(registry), 7, 'a scrape without new drops adds nothing');
  // A second server in the same process (tests, a restart after a drain): its count starts at 0.
  let second = 0;
  registerDroppedRecordsMetric(() => second, registry);
  assert.equal(await scrape(registry), 7);
  second = 3;
  first = 100; // the stopped server is no longer read
  assert.equal(await scrape(registry), 10);
});
