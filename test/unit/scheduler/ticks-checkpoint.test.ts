import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkpointJobId, TickLedger, ticksTopicName, type TickRecord } from '../../../src/scheduler/index.js';
import { schedulerRig } from './scheduler-harness.js';
import { openTempLog } from '../pipeline/harness.js';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function tick(jobId: string, at: number): TickRecord {
  return { kind: 'run', jobId, function: jobId.split('#')[0]!, version: 1, scheduledAt: iso(at), firedAt: iso(at), invocationId: null, instance: 'test' };
}

describe('ticks checkpoints: a new leader need not read the whole topic', () => {
  it('bootstraps from a window holding a checkpoint, and from the whole topic without one', async () => {
    const { log, cleanup } = await openTempLog();
    try {
      const topic = ticksTopicName('cp.');
      await log.ensureTopic({ name: topic });
      const t0 = Date.UTC(2026, 0, 1);
      const append = (record: TickRecord, timestamp: number) => log.append(topic, [{ key: record.jobId, value: JSON.stringify(record), timestamp }]);
      await append(tick('monthly#0', t0), t0);
      for (let i = 1; i <= 5; i += 1) await append(tick('often#0', t0 + i * 60_000), t0 + i * 60_000);

      const withoutCheckpoint = new TickLedger(log, topic);
      assert.equal(await withoutCheckpoint.bootstrap(t0 + 2 * 60_000, 60_000), 'full');
      assert.equal(withoutCheckpoint.lastScheduledAt('monthly#0'), t0, 'the full read found the old tick');

      const checkpoint: TickRecord = { kind: 'checkpoint', jobId: checkpointJobId, function: '', version: 0, scheduledAt: iso(t0 + HOUR), firedAt: iso(t0 + HOUR), invocationId: null, instance: 'test', last: { 'monthly#0': iso(t0), 'often#0': iso(t0 + 5 * 60_000) } };
      await append(checkpoint, t0 + HOUR);
      await append(tick('often#0', t0 + HOUR + 60_000), t0 + HOUR + 60_000);

      const fromWindow = new TickLedger(log, topic);
      assert.equal(await fromWindow.bootstrap(t0 + 30 * 60_000, 60_000), 'window');
      assert.equal(fromWindow.lastScheduledAt('monthly#0'), t0, 'known from the checkpoint, its tick not read');
      assert.equal(fromWindow.lastScheduledAt('often#0'), t0 + HOUR + 60_000);
      assert.equal(fromWindow.position, (await log.endOffsets(topic))[0]);

      // A checkpoint right at the window start may not cover what came just before it: read it all.
      const tooEarly = new TickLedger(log, topic);
      assert.equal(await tooEarly.bootstrap(t0 + HOUR - 1000, 60_000), 'full');
      assert.equal(tooEarly.lastScheduledAt('monthly#0'), t0);
    } finally {
      await cleanup();
    }
  });

  it('writes a checkpoint every hour even when no job is due, so a monthly job survives tick retention', async () => {
    const rig = await schedulerRig();
    try {
      await rig.start();
      await rig.deploy('monthly', [{ type: 'schedule', cron: '0 0 1 * *' }]);
      await rig.advance(3 * HOUR + 30_000);
      const quiet = await rig.ticks(true);
      assert.ok(quiet.length >= 4, `hourly checkpoints while nothing was due (${quiet.length})`);
      const times = quiet.map((c) => Date.parse(c.firedAt));
      for (let i = 1; i < times.length; i += 1) assert.equal(times[i]! - times[i - 1]!, HOUR);
      await rig.deploy('often', [{ type: 'schedule', cron: '*/10 * * * *' }]);
      await rig.advance(HOUR);
      const checkpoints = await rig.ticks(true);
      const latest = checkpoints[checkpoints.length - 1]!;
      assert.ok(latest.last?.['often#0'] !== undefined, 'the checkpoint carries the last due time of each job that ticked');

      const ledger = new TickLedger(rig.log, ticksTopicName());
      assert.equal(await ledger.bootstrap(rig.clock.now() - 2 * HOUR - 60_000, 60_000), 'window');
      assert.equal(iso(ledger.lastScheduledAt('often#0')!), rig.calls('often').map((c) => (JSON.parse(c.payload) as { scheduledAt: string }).scheduledAt).at(-1));
      assert.ok(ledger.position > 0);
    } finally {
      await rig.close();
    }
  });
});
