import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EventLog } from '../../src/eventlog/index.js';
import { ticksTopicName, type TickRecord } from '../../src/scheduler/index.js';
import { deployTestJobs, readTicks, startSchedulerInstance, type SchedulerInstance } from './scheduler-instance.js';

/**
 * How a deployment gives the scheduler its logs. `concurrent`: a second instance can open the log
 * while the first holds it (Kafka: another client; the embedded log: no, the data dir is locked,
 * so the second instance opens it after the first one closed, as a restarted process would).
 * `childEnv`: the environment that makes test/conformance/scheduler-child.ts use the same log.
 */
export interface SchedulerLogs {
  readonly prefix: string;
  readonly concurrent: boolean;
  readonly childEnv: Record<string, string>;
  open(instance: string): Promise<EventLog>;
  cleanup(): Promise<void>;
}

/** What the tests keep of an invocation record (the child process prints the same fields). */
interface Run {
  readonly instance: string;
  readonly id: string;
  readonly function: string;
  readonly scheduledAt: number;
  readonly trigger: string;
  readonly role: string;
  readonly ok: boolean;
}

const jobs = ['every-second', 'catching-up'] as const;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const scheduledAtOf = (input: string): number => Date.parse((JSON.parse(input) as { scheduledAt: string }).scheduledAt);

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Every run is unique and has its tick; every second from the first accounted due time to the last
 * is accounted for exactly once: a run tick (the first one in the log for that second), inside
 * a skipped tick's range, or an overlap tick. A run tick without a run is allowed only when `lostRunsAllowed` (the
 * leader was killed between its tick and its record: at most once per due time).
 */
function checkJob(job: string, runs: readonly Run[], ticks: readonly TickRecord[], lostRunsAllowed: boolean): void {
  const mine = runs.filter((r) => r.function === job);
  assert.ok(mine.every((r) => r.trigger === 'schedule' && r.role === 'service_role' && r.ok), `${job}: every run is a schedule run as service_role and succeeded`);
  const ran = new Set<number>();
  for (const run of mine) {
    assert.ok(!ran.has(run.scheduledAt), `${job}: ${new Date(run.scheduledAt).toISOString()} ran twice`);
    ran.add(run.scheduledAt);
  }
  const runTicks = ticks.filter((t) => t.function === job && t.kind === 'run');
  const tickIds = new Set(runTicks.map((t) => t.invocationId));
  for (const run of mine) assert.ok(tickIds.has(run.id), `${job}: run ${run.id} has its tick`);
  const accounted = new Map<number, string>();
  for (const at of new Set(runTicks.map((t) => Date.parse(t.scheduledAt)))) accounted.set(at, 'run');
  if (!lostRunsAllowed) assert.equal(accounted.size, ran.size, `${job}: every run tick was run`);
  else assert.ok(accounted.size - ran.size <= 2, `${job}: at most the due times in flight at the kill are lost (${accounted.size - ran.size})`);
  for (const tick of ticks.filter((t) => t.function === job && t.kind === 'skipped')) {
    for (let at = Date.parse(tick.from!); at <= Date.parse(tick.scheduledAt); at += 1000) {
      assert.ok(!accounted.has(at), `${job}: ${new Date(at).toISOString()} both ${accounted.get(at)} and skipped`);
      accounted.set(at, 'skipped');
    }
    assert.equal(tick.count, (Date.parse(tick.scheduledAt) - Date.parse(tick.from!)) / 1000 + 1, `${job}: the skipped count matches its range`);
  }
  // A due time that came while the job's previous run was still going (a loaded machine) is
  // recorded as an overlap tick and not run (concurrency: forbid): recorded, so accounted for.
  for (const tick of ticks.filter((t) => t.function === job && t.kind === 'overlap')) {
    const at = Date.parse(tick.scheduledAt);
    assert.ok(!accounted.has(at), `${job}: ${tick.scheduledAt} both ${accounted.get(at)} and overlap`);
    assert.ok(!ran.has(at), `${job}: ${tick.scheduledAt} ran although its tick says overlap`);
    accounted.set(at, 'overlap');
  }
  const times = [...accounted.keys()].sort((a, b) => a - b);
  for (let i = 1; i < times.length; i += 1) {
    if (times[i]! - times[i - 1]! === 1000) continue;
    // What the log and the runs hold around the gap, to tell a lost tick from one of another kind.
    const near = (at: number): boolean => at >= times[i - 1]! - 2000 && at <= times[i]! + 2000;
    const around = ticks.filter((t) => t.function === job && near(Date.parse(t.scheduledAt))).map((t) => `${t.kind}@${t.scheduledAt.slice(11, 19)} by ${t.instance}`);
    const runsAround = mine.filter((r) => near(r.scheduledAt)).map((r) => `${new Date(r.scheduledAt).toISOString().slice(11, 19)} on ${r.instance}`);
    assert.fail(`${job}: nothing accounts for the due times between ${new Date(times[i - 1]!).toISOString()} and ${new Date(times[i]!).toISOString()}; ticks around: ${around.join(', ')}; runs around: ${runsAround.join(', ')}`);
  }
}

export function schedulerConformanceSuite(name: string, openLogs: () => Promise<SchedulerLogs>): void {
  describe(`scheduler leader lease and ticks: ${name}`, () => {
    it('runs each (job, due time) exactly once across instances; a new leader takes over from a closed one without repeats or silent drops', { timeout: 120_000 }, async (context) => {
      const logs = await openLogs();
      const runs: Run[] = [];
      const instances: SchedulerInstance[] = [];
      const start = async (instance: string): Promise<SchedulerInstance> => {
        const started = await startSchedulerInstance(await logs.open(instance), logs.prefix, instance, (record) =>
          runs.push({ instance, id: record.id, function: record.function, scheduledAt: scheduledAtOf(record.input), trigger: record.trigger, role: record.context.role, ok: record.outcome.ok }),
        );
        instances.push(started);
        return started;
      };
      try {
        const a = await start('a');
        await waitFor(() => a.scheduler.isLeader(), 30_000, 'a to lead');
        await deployTestJobs(a.registry);
        await waitFor(() => runs.filter((r) => r.function === 'catching-up').length >= 3, 15_000, 'three runs on a');

        let b: SchedulerInstance | undefined;
        if (logs.concurrent) {
          b = await start('b');
          await sleep(3000);
          assert.ok(!(a.scheduler.isLeader() && b.scheduler.isLeader()), 'never two leaders once the group settled');
        }
        await a.close();
        instances.splice(instances.indexOf(a), 1);
        const closedAt = Date.now();
        // A restarted process comes back after a while: due times pass with no scheduler at all.
        if (!logs.concurrent) await sleep(2500);
        b ??= await start('b');
        const next = b;
        await waitFor(() => next.scheduler.isLeader(), 45_000, 'b to take over the lease');
        await waitFor(() => runs.some((r) => r.instance === 'b' && r.scheduledAt > closedAt + 1000), 30_000, 'b to run schedules');
        await sleep(2500);
        await b.scheduler.stop(5000);

        const ticks = await readTicks(b.log, ticksTopicName(logs.prefix));
        const count = (kind: string, instance: string): number => ticks.filter((t) => t.kind === kind && t.instance === instance).length;
        context.diagnostic(`ticks: run a=${count('run', 'a')} b=${count('run', 'b')}, skipped b=${count('skipped', 'b')}; runs a=${runs.filter((r) => r.instance === 'a').length} b=${runs.filter((r) => r.instance === 'b').length}`);
        for (const job of jobs) {
          assert.ok(runs.some((r) => r.function === job && r.instance === 'a') && runs.some((r) => r.function === job && r.instance === 'b'), `${job} ran on both instances`);
          checkJob(job, runs, ticks, false);
        }
        assert.equal(ticks.filter((t) => t.function === 'catching-up' && t.kind === 'skipped').length, 0, 'catch-up ran every missed second instead of skipping');
      } finally {
        for (const instance of instances) await instance.close().catch(() => undefined);
        await logs.cleanup();
      }
    });

    it('replaces a leader killed with SIGKILL: the new one repeats nothing, catches up or records every missed second', { timeout: 180_000 }, async (context) => {
      const logs = await openLogs();
      const runs: Run[] = [];
      let b: SchedulerInstance | undefined;
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./scheduler-child.ts', import.meta.url))], {
        env: { ...process.env, ...logs.childEnv, SCHED_PREFIX: logs.prefix },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let leading = false;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'leader') leading = true;
        if (!line.startsWith('record ')) return;
        const record = JSON.parse(line.slice(7)) as { id: string; function: string; input: string; trigger: string; role: string; ok: boolean };
        runs.push({ instance: 'child', id: record.id, function: record.function, scheduledAt: scheduledAtOf(record.input), trigger: record.trigger, role: record.role, ok: record.ok });
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(() => leading, 60_000, 'the child to lead and deploy');
        await waitFor(() => runs.filter((r) => r.function === 'catching-up').length >= 3, 20_000, 'three runs in the child');
        child.kill('SIGKILL');
        await exited;
        const killedAt = Date.now();
        b = await startSchedulerInstance(await logs.open('b'), logs.prefix, 'b', (record) =>
          runs.push({ instance: 'b', id: record.id, function: record.function, scheduledAt: scheduledAtOf(record.input), trigger: record.trigger, role: record.context.role, ok: record.outcome.ok }),
        );
        const next = b;
        // On Kafka the dead member keeps the partition until its session times out (30 s).
        await waitFor(() => next.scheduler.isLeader(), 90_000, 'b to take over from the killed leader');
        const ledAt = Date.now();
        await waitFor(() => runs.some((r) => r.instance === 'b' && r.function === 'every-second' && r.scheduledAt > ledAt), 30_000, 'b to run on time');
        await sleep(1500);
        await b.scheduler.stop(5000);

        const ticks = await readTicks(b.log, ticksTopicName(logs.prefix));
        context.diagnostic(`killed leader: gap ${((ledAt - killedAt) / 1000).toFixed(1)} s; runs child=${runs.filter((r) => r.instance === 'child').length} b=${runs.filter((r) => r.instance === 'b').length}; skipped ticks ${ticks.filter((t) => t.kind === 'skipped').map((t) => `${t.function}:${t.count}`).join(' ')}`);
        for (const job of jobs) checkJob(job, runs, ticks, true);
        const caughtUp = runs.filter((r) => r.instance === 'b' && r.function === 'catching-up' && r.scheduledAt > killedAt + 1000 && r.scheduledAt < ledAt - 1000);
        if (ledAt - killedAt > 3000) assert.ok(caughtUp.length > 0, 'b ran the due times of the gap for the catch-up job');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await b?.close().catch(() => undefined);
        await logs.cleanup();
      }
    });
  });
}
