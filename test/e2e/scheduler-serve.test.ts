import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { openEmbeddedEventLog } from '../../src/eventlog/index.js';
import type { InvocationRecord } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { scheduleInvocationId, type TickRecord } from '../../src/scheduler/index.js';
import { readValues, waitFor } from '../unit/pipeline/harness.js';
import { deploy, request, startHarness, type Harness } from './api-harness.js';

/**
 * `aerofn serve` on the embedded defaults (startService on free ports): a function deployed over
 * REST with an every-second schedule runs as trigger `schedule` with the service role, its records
 * reach `/invocations` and `aerofn.invocations`, and each run has its tick in `aerofn.schedule`.
 */
describe('scheduler in the served composition (embedded log)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('refuses a bad cron or zone over REST with 400 naming the field', async () => {
    const badMinute = await deploy(h, 'bad-cron', 'echo', { triggers: [{ type: 'schedule', cron: '61 * * * *' }] });
    assert.equal(badMinute.status, 400);
    const error = (badMinute.body as { error: { kind: string; message: string } }).error;
    assert.equal(error.kind, 'BadRequest');
    assert.match(error.message, /triggers\[0\]\.cron "61 \* \* \* \*".*minute 61 out of range 0-59/);
    const badZone = await deploy(h, 'bad-zone', 'echo', { triggers: [{ type: 'schedule', cron: '0 * * * *', timezone: 'Mars/Olympus_Mons' }] });
    assert.equal(badZone.status, 400);
    assert.match((badZone.body as { error: { message: string } }).error.message, /triggers\[0\]\.timezone must be an IANA time zone/);
    assert.equal((await request(h, 'GET', '/functions/v1/bad-cron', { token: h.tokens.serviceRole })).status, 404, 'nothing was deployed');
  });

  it('runs the AssemblyScript tick example on a schedule; it reads the payload and returns scheduledAt', async () => {
    // Built by `make build` (scripts/build-examples.sh); its aerofn.json says every minute, this runs it every second.
    const wasm = (await readFile(new URL('../../sdk/assemblyscript/build/tick.wasm', import.meta.url))).toString('base64');
    const deployed = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'tick', wasm, config: { timeoutMs: 2000, memoryMb: 16 }, triggers: [{ type: 'schedule', cron: '* * * * * *', timezone: 'UTC' }] } });
    assert.equal(deployed.status, 201, deployed.text);
    let records: InvocationRecord[] = [];
    await waitFor(async () => {
      records = ((await request(h, 'GET', '/functions/v1/tick/invocations?limit=5', { token: h.tokens.serviceRole })).body as { invocations: InvocationRecord[] }).invocations;
      return records.length >= 2;
    }, 15_000, 'two runs of tick');
    for (const record of records) {
      assert.ok(record.outcome.ok, JSON.stringify(record.outcome));
      const input = JSON.parse(record.input) as { scheduledAt: string; jobId: string; timestamp: string };
      const output = JSON.parse(record.outcome.ok ? record.outcome.output : 'null') as { scheduledAt: string; jobId: string; timestamp: string };
      assert.deepEqual([output.scheduledAt, output.jobId, output.timestamp], [input.scheduledAt, 'tick#0', input.timestamp]);
      assert.ok(record.journal.some((call) => JSON.stringify(call).includes(`tick ${input.scheduledAt}`)), 'it logged its due time');
    }
    assert.equal((await request(h, 'DELETE', '/functions/v1/tick', { token: h.tokens.serviceRole })).status, 200);
  });

  it('runs an every-second function with the service role; records reach /invocations, aerofn.invocations and ticks', async () => {
    const deployed = await deploy(h, 'ticker', 'echo', { triggers: [{ type: 'schedule', cron: '* * * * * *' }] });
    assert.equal(deployed.status, 201, deployed.text);
    let records: InvocationRecord[] = [];
    await waitFor(async () => {
      const response = await request(h, 'GET', '/functions/v1/ticker/invocations?limit=50', { token: h.tokens.serviceRole });
      records = (response.body as { invocations: InvocationRecord[] }).invocations;
      return records.length >= 3;
    }, 15_000, 'three scheduled runs of ticker');
    for (const record of records) {
      assert.equal(record.trigger, 'schedule');
      assert.equal(record.context.role, 'service_role');
      assert.ok(record.outcome.ok, JSON.stringify(record.outcome));
      const payload = JSON.parse(record.input) as { timestamp: string; jobId: string; scheduledAt: string };
      assert.equal(payload.jobId, 'ticker#0');
      assert.match(payload.scheduledAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      assert.equal(record.id, scheduleInvocationId('ticker#0', Date.parse(payload.scheduledAt)));
      assert.equal(record.outcome.ok && record.outcome.output, record.input, 'echo returns the schedule payload');
    }
    const metrics = await request(h, 'GET', '/metrics');
    assert.match(metrics.text, /aerofn_schedule_runs_total\{function="ticker",outcome="ok"\} \d+/);
    assert.match(metrics.text, /aerofn_scheduler_leader 1/);

    const undeployed = await request(h, 'DELETE', '/functions/v1/ticker', { token: h.tokens.serviceRole });
    assert.equal(undeployed.status, 200, undeployed.text);
    const undeployedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Stop the service to read its data dir: every run is in aerofn.invocations, once, with its tick.
    await h.service.stop('read the log');
    const log = await openEmbeddedEventLog({ dataDir: h.dataDir, fsync: false, logger: silentLogger() });
    try {
      const invocations = (await readValues<InvocationRecord>(log, 'aerofn.invocations')).filter((r) => r.function === 'ticker');
      const runs = (await readValues<TickRecord>(log, 'aerofn.schedule')).filter((t) => t.jobId === 'ticker#0' && t.kind === 'run');
      assert.ok(invocations.length >= 3);
      assert.deepEqual(invocations.map((r) => r.id).sort(), runs.map((t) => t.invocationId).sort(), 'one invocation record per run tick');
      assert.equal(new Set(runs.map((t) => t.scheduledAt)).size, runs.length);
      const lastRun = Math.max(...runs.map((t) => Date.parse(t.scheduledAt)));
      assert.ok(lastRun <= undeployedAt + 1000, 'no runs after the undeploy');
    } finally {
      await log.close();
    }
  });
});
