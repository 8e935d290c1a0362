import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/observability/index.js';
import { createGroupLease, scheduleInvocationId, ticksTopicName } from '../../../src/scheduler/index.js';
import { scheduledAtOf, schedulerRig } from './scheduler-harness.js';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('scheduler in virtual time', () => {
  it('runs an every-minute job once per due time as trigger schedule with the service role and a stable id, ticking before it invokes', async () => {
    const ticksSeenAtInvoke: boolean[] = [];
    const rig = await schedulerRig({
      report: async (request) => {
        const ticks = await rig.ticks();
        ticksSeenAtInvoke.push(ticks.some((t) => t.kind === 'run' && t.invocationId === request.invocationId));
        return { output: '"done"' };
      },
    });
    try {
      const t0 = rig.clock.now();
      await rig.start();
      await rig.deploy('report', [{ type: 'schedule', cron: '* * * * *' }]);
      await rig.advance(3 * 60_000);
      const calls = rig.calls('report');
      assert.deepEqual(calls.map(scheduledAtOf), [iso(t0 + 60_000), iso(t0 + 120_000), iso(t0 + 180_000)]);
      for (const call of calls) {
        assert.equal(call.trigger, 'schedule');
        assert.equal(call.rls.role, 'service_role');
        const payload = JSON.parse(call.payload) as Record<string, unknown>;
        assert.deepEqual(Object.keys(payload).sort(), ['jobId', 'scheduledAt', 'timestamp']);
        assert.equal(payload['jobId'], 'report#0');
        assert.equal(call.invocationId, scheduleInvocationId('report#0', Date.parse(payload['scheduledAt'] as string)));
      }
      assert.deepEqual(ticksSeenAtInvoke, [true, true, true], 'each tick is in the log before its invocation starts');
      const ticks = await rig.ticks();
      assert.deepEqual(ticks.map((t) => [t.kind, t.jobId, t.function, t.version, t.scheduledAt, t.instance]), calls.map((c) => ['run', 'report#0', 'report', 1, scheduledAtOf(c), 'instance-1']));
    } finally {
      await rig.close();
    }
  });

  it('keeps one timer for many jobs and wakes each at its own zone-local time', async () => {
    const rig = await schedulerRig();
    try {
      await rig.start();
      for (let i = 0; i < 20; i += 1) await rig.deploy(`job${i}`, [{ type: 'schedule', cron: `${i} * * * *` }]);
      await rig.deploy('tokyo', [{ type: 'schedule', cron: '0 9 * * *', timezone: 'Asia/Tokyo' }]);
      assert.equal(rig.clock.timerCount(), 1);
      const tokyoStatus = rig.schedulers[0]!.status().find((job) => job.jobId === 'tokyo#0');
      assert.deepEqual({ ...tokyoStatus, nextDueAt: undefined }, { jobId: 'tokyo#0', function: 'tokyo', cron: '0 9 * * *', timezone: 'Asia/Tokyo', catchUp: false, lastScheduledAt: null, nextDueAt: undefined, running: false });
      assert.match(tokyoStatus!.nextDueAt!, /T00:00:00\.000Z$/);
      await rig.advance(24 * 3_600_000);
      assert.equal(rig.clock.timerCount(), 1);
      for (let i = 0; i < 20; i += 1) assert.equal(rig.calls(`job${i}`).length, 24, `job${i} ran hourly`);
      const tokyo = rig.calls('tokyo').map(scheduledAtOf);
      assert.equal(tokyo.length, 1);
      assert.match(tokyo[0]!, /T00:00:00\.000Z$/, '09:00 in Tokyo is 00:00 UTC');
    } finally {
      await rig.close();
    }
  });

  it('runs 6-field (seconds) crons', async () => {
    const rig = await schedulerRig();
    try {
      await rig.start();
      await rig.deploy('fast', [{ type: 'schedule', cron: '*/10 * * * * *' }]);
      await rig.advance(60_000);
      assert.equal(rig.calls('fast').length, 6);
    } finally {
      await rig.close();
    }
  });

  it('after a gap without a leader: skips missed runs but records them (default), or catches up each one (catchUp)', async () => {
    const rig = await schedulerRig();
    try {
      const t0 = rig.clock.now();
      const first = await rig.start();
      await rig.deploy('skipper', [{ type: 'schedule', cron: '* * * * *' }]);
      await rig.deploy('catcher', [{ type: 'schedule', cron: '* * * * *', catchUp: true }]);
      await rig.advance(60_000);
      await first.stop();
      rig.schedulers.splice(0);
      // Five due times pass with no scheduler at all.
      await rig.advance(5 * 60_000 + 10_000);
      await rig.start();
      const skipper = rig.calls('skipper').map(scheduledAtOf);
      const catcher = rig.calls('catcher').map(scheduledAtOf);
      assert.deepEqual(skipper, [iso(t0 + 60_000), iso(t0 + 360_000)], 'only the latest (10 s late, within the starting deadline) runs');
      assert.deepEqual(catcher, [1, 2, 3, 4, 5, 6].map((m) => iso(t0 + m * 60_000)), 'each missed due time runs once, in order');
      const skipped = (await rig.ticks()).filter((t) => t.kind === 'skipped');
      assert.equal(skipped.length, 1);
      assert.deepEqual([skipped[0]!.jobId, skipped[0]!.count, skipped[0]!.from, skipped[0]!.scheduledAt], ['skipper#0', 4, iso(t0 + 120_000), iso(t0 + 300_000)]);
    } finally {
      await rig.close();
    }
  });

  it('bounds catch-up per job and records the rest as skipped', async () => {
    const rig = await schedulerRig();
    try {
      const t0 = rig.clock.now();
      await rig.deploy('bounded', [{ type: 'schedule', cron: '* * * * *', catchUp: true }]);
      await rig.advance(10 * 60_000);
      await rig.start({ maxCatchUp: 3 });
      assert.deepEqual(rig.calls('bounded').map(scheduledAtOf), [8, 9, 10].map((m) => iso(t0 + m * 60_000)));
      const skipped = (await rig.ticks()).filter((t) => t.kind === 'skipped');
      assert.deepEqual(skipped.map((t) => [t.count, t.from, t.scheduledAt]), [[7, iso(t0 + 60_000), iso(t0 + 7 * 60_000)]]);
    } finally {
      await rig.close();
    }
  });

  it('does not pile up runs: a due time that comes while the previous run still runs is skipped and recorded (forbid)', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const rig = await schedulerRig({
      slow: async () => {
        calls += 1;
        if (calls === 1) await held;
        return { output: 'null' };
      },
    });
    try {
      const t0 = rig.clock.now();
      await rig.start();
      await rig.deploy('slow', [{ type: 'schedule', cron: '* * * * *' }]);
      // The first run holds; idle() would wait for it, so move time with a settle that does not.
      await rig.clock.advance(60_000, () => new Promise((resolve) => setTimeout(resolve, 30)));
      await rig.clock.advance(2 * 60_000, () => new Promise((resolve) => setTimeout(resolve, 30)));
      assert.equal(rig.invoker.maxActive, 1);
      release();
      await rig.schedulers[0]!.idle();
      await rig.advance(60_000);
      assert.deepEqual(rig.calls('slow').map(scheduledAtOf), [iso(t0 + 60_000), iso(t0 + 240_000)]);
      const overlap = (await rig.ticks()).filter((t) => t.kind === 'overlap').map((t) => t.scheduledAt);
      assert.deepEqual(overlap, [iso(t0 + 120_000), iso(t0 + 180_000)]);
    } finally {
      release();
      await rig.close();
    }
  });

  it('reschedules on a redeploy with a new cron, and stops on disable and undeploy', async () => {
    const rig = await schedulerRig();
    try {
      const t0 = rig.clock.now();
      await rig.start();
      await rig.deploy('moving', [{ type: 'schedule', cron: '* * * * *' }]);
      await rig.deploy('paused', [{ type: 'schedule', cron: '* * * * *' }]);
      await rig.advance(2 * 60_000 + 30_000);
      await rig.deploy('moving', [{ type: 'schedule', cron: '*/5 * * * *' }]);
      await rig.registry.disable('paused');
      await rig.advance(10 * 60_000);
      const fiveMinuteMarks = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((m) => t0 + m * 60_000).filter((ms) => new Date(ms).getUTCMinutes() % 5 === 0);
      assert.equal(fiveMinuteMarks.length, 2);
      assert.deepEqual(rig.calls('moving').map(scheduledAtOf), [t0 + 60_000, t0 + 120_000, ...fiveMinuteMarks].map(iso));
      assert.equal(rig.calls('paused').length, 2);
      await rig.registry.undeploy('moving');
      await rig.registry.enable('paused');
      await rig.advance(10 * 60_000);
      assert.equal(rig.calls('moving').length, 4, 'an undeployed function is not run');
      assert.equal(rig.calls('paused').length, 2 + 10, 'enabled again, it runs from then on (not the disabled period)');
      assert.equal((await rig.ticks()).filter((t) => t.kind === 'skipped').length, 0);
    } finally {
      await rig.close();
    }
  });

  it('two schedulers that both believe they lead still run each due time once: the first tick in the log wins', async () => {
    const rig = await schedulerRig();
    try {
      await rig.start();
      // Split brain, as on Kafka when a leader that missed its session timeout still fires: the
      // second instance holds the lease of a group of its own, so both lead.
      await rig.start({ lease: createGroupLease({ log: rig.log, topic: ticksTopicName(), groupId: 'aerofn-scheduler-split-brain', logger: silentLogger(), pollMs: 50 }) });
      assert.ok(rig.schedulers.every((s) => s.isLeader()), 'both instances lead');
      await rig.deploy('once', [{ type: 'schedule', cron: '*/5 * * * * *' }]);
      // Fire both instances' timers for a due time back to back, so their wake-ups overlap.
      for (let step = 0; step < 12; step += 1) {
        await rig.clock.advance(5000, async () => undefined);
        for (let i = 0; i < 2; i += 1) await Promise.all(rig.schedulers.map((s) => s.idle()));
      }
      const runs = rig.calls('once').map(scheduledAtOf);
      assert.equal(runs.length, 12);
      assert.equal(new Set(runs).size, 12);
      const runTicks = (await rig.ticks()).filter((t) => t.kind === 'run');
      assert.ok(runTicks.length > 12, `both instances appended claims for the same due times (${runTicks.length} run ticks)`);
    } finally {
      await rig.close();
    }
  });
});
