import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import type { EventLog } from '../../src/eventlog/index.js';
import { createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry, defaultRetryPolicy, type Registry } from '../../src/registry/index.js';
import { createScheduler, decodeTick, ticksTopicName, type Scheduler, type TickRecord } from '../../src/scheduler/index.js';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../fixtures/wasm/wat-parts.js';

/**
 * How a deployment gives the scheduler its logs. `concurrent`: a second instance can open the log
 * while the first holds it (Kafka: another client; the embedded log: no, the data dir is locked,
 * so the second instance opens it after the first one closed, as a restarted process would).
 */
export interface SchedulerLogs {
  readonly prefix: string;
  readonly concurrent: boolean;
  open(instance: string): Promise<EventLog>;
  cleanup(): Promise<void>;
}

const echoWat = `(module (memory (export "memory") 1) ${bumpAllocator(4096)}
  (func (export "handler") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1)))))`;

interface Instance {
  readonly name: string;
  readonly log: EventLog;
  readonly registry: Registry;
  readonly invoker: SandboxInvoker;
  readonly scheduler: Scheduler;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function readTicks(log: EventLog, topic: string): Promise<TickRecord[]> {
  const out: TickRecord[] = [];
  const end = (await log.endOffsets(topic))[0] ?? 0;
  for (let offset = 0; offset < end; ) {
    const records = await log.read(topic, 0, offset, { maxWaitMs: 500 });
    if (records.length === 0) break;
    for (const record of records) {
      const tick = decodeTick(record);
      if (tick !== undefined) out.push(tick);
    }
    offset = records[records.length - 1]!.offset + 1;
  }
  return out;
}

/** Every second from the first to the last: each one accounted for exactly once (run, or in a skipped range). */
function assertNoGapNoRepeat(runs: readonly number[], skipped: readonly TickRecord[], job: string): void {
  const seen = new Map<number, string>();
  for (const at of runs) {
    assert.ok(!seen.has(at), `${job}: ${new Date(at).toISOString()} ran twice`);
    seen.set(at, 'run');
  }
  for (const tick of skipped) {
    for (let at = Date.parse(tick.from!); at <= Date.parse(tick.scheduledAt); at += 1000) {
      assert.ok(!seen.has(at), `${job}: ${new Date(at).toISOString()} both ${seen.get(at)} and skipped`);
      seen.set(at, 'skipped');
    }
    assert.equal(tick.count, (Date.parse(tick.scheduledAt) - Date.parse(tick.from!)) / 1000 + 1, `${job}: the skipped count matches its range`);
  }
  const times = [...seen.keys()].sort((a, b) => a - b);
  for (let i = 1; i < times.length; i += 1) {
    assert.equal(times[i]! - times[i - 1]!, 1000, `${job}: nothing accounts for the due times between ${new Date(times[i - 1]!).toISOString()} and ${new Date(times[i]!).toISOString()}`);
  }
}

export function schedulerConformanceSuite(name: string, openLogs: () => Promise<SchedulerLogs>): void {
  describe(`scheduler leader lease and ticks: ${name}`, () => {
    it('runs each (job, due time) exactly once across instances; a new leader takes over without repeats and without silent drops', { timeout: 120_000 }, async (context) => {
      const logs = await openLogs();
      const records: Array<{ instance: string; record: InvocationRecord }> = [];
      const wasm = await watToWasm(echoWat);
      const instances: Instance[] = [];

      const startInstance = async (instanceName: string): Promise<Instance> => {
        const log = await logs.open(instanceName);
        const registry = createRegistry({ log, topicPrefix: logs.prefix, defaults: { sandbox: { timeoutMs: 5000, memoryMb: 16, stackKb: 1024 }, retry: defaultRetryPolicy }, logger: silentLogger() });
        await registry.start();
        const invoker = createInvoker({ functions: registry, config: loadConfig({ AEROFN_WORKERS: '1' }).sandbox, logger: silentLogger() });
        await invoker.ready();
        const scheduler = createScheduler({
          log,
          jobs: registry,
          invoker,
          logger: silentLogger(),
          instanceId: instanceName,
          topicPrefix: logs.prefix,
          leasePollMs: 100,
          onRecord: (record) => records.push({ instance: instanceName, record }),
        });
        await scheduler.start();
        const instance = {
          name: instanceName,
          log,
          registry,
          invoker,
          scheduler,
          async close() {
            await scheduler.stop(5000);
            await invoker.close();
            await registry.close();
            await log.close();
          },
        };
        instances.push(instance);
        return instance;
      };
      const scheduledAt = (r: InvocationRecord): number => Date.parse((JSON.parse(r.input) as { scheduledAt: string }).scheduledAt);

      try {
        const a = await startInstance('a');
        await waitFor(() => a.scheduler.isLeader(), 30_000, 'a to lead');
        await a.registry.deploy({ name: 'every-second', wasm, triggers: [{ type: 'schedule', cron: '* * * * * *' }] });
        await a.registry.deploy({ name: 'catching-up', wasm, triggers: [{ type: 'schedule', cron: '* * * * * *', catchUp: true }] });
        await waitFor(() => records.filter((r) => r.record.function === 'catching-up').length >= 3, 15_000, 'three runs on a');

        let b: Instance | undefined;
        if (logs.concurrent) {
          b = await startInstance('b');
          await sleep(3000);
          assert.ok(a.scheduler.isLeader() !== b.scheduler.isLeader() || !a.scheduler.isLeader(), 'never two leaders once the group settled');
        }
        const beforeHandover = records.length;
        await a.close();
        instances.splice(instances.indexOf(a), 1);
        const closedAt = Date.now();
        // A restarted process comes back after a while: due times pass with no scheduler at all.
        if (!logs.concurrent) await sleep(2500);
        b ??= await startInstance('b');
        const next = b;
        await waitFor(() => next.scheduler.isLeader(), 45_000, 'b to take over the lease');
        await waitFor(() => records.slice(beforeHandover).some((r) => r.instance === 'b' && scheduledAt(r.record) > closedAt + 1000), 30_000, 'b to run schedules');
        await sleep(2500);
        await b.scheduler.stop(5000);

        const ticks = (await readTicks(b.log, ticksTopicName(logs.prefix))).filter((t) => t.function === 'every-second' || t.function === 'catching-up');
        const count = (kind: string, instance: string): number => ticks.filter((t) => t.kind === kind && t.instance === instance).length;
        context.diagnostic(`ticks: run a=${count('run', 'a')} b=${count('run', 'b')}, skipped b=${count('skipped', 'b')}, runs a=${records.filter((r) => r.instance === 'a').length} b=${records.filter((r) => r.instance === 'b').length}`);
        for (const job of ['every-second', 'catching-up']) {
          const runs = records.filter((r) => r.record.function === job);
          assert.ok(runs.every((r) => r.record.trigger === 'schedule' && r.record.context.role === 'service_role' && r.record.outcome.ok));
          assert.ok(runs.some((r) => r.instance === 'a') && runs.some((r) => r.instance === 'b'), `${job} ran on both instances`);
          const skipped = ticks.filter((t) => t.function === job && t.kind === 'skipped');
          assertNoGapNoRepeat(runs.map((r) => scheduledAt(r.record)), skipped, job);
          // Every run tick that counted was invoked once, and nothing ran without a tick.
          const runTickIds = new Set(ticks.filter((t) => t.function === job && t.kind === 'run').map((t) => t.invocationId));
          for (const run of runs) assert.ok(runTickIds.has(run.record.id), `${job}: run ${run.record.id} has its tick`);
          if (job === 'catching-up') assert.equal(skipped.length, 0, 'catch-up ran every missed second instead of skipping');
        }
      } finally {
        for (const instance of instances) await instance.close().catch(() => undefined);
        await logs.cleanup();
      }
    });
  });
}
