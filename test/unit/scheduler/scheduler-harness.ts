import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog, type EventLog } from '../../../src/eventlog/index.js';
import type { InvokeRequest } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createRegistry, defaultRetryPolicy, type Registry, type Trigger } from '../../../src/registry/index.js';
import { createScheduler, decodeTick, ManualClock, type Scheduler, type SchedulerOptions, type TickRecord } from '../../../src/scheduler/index.js';
import { scriptedInvoker, type Behaviour } from '../pipeline/harness.js';
import { wasmModule } from '../registry/registry-fixtures.js';

/**
 * A scheduler in virtual time over real parts: the embedded event log in a temp dir, the
 * event-sourced registry (its deployedAt from the same manual clock) and a scripted invoker.
 */
export interface SchedulerRig {
  readonly log: EventLog;
  readonly registry: Registry;
  readonly clock: ManualClock;
  readonly invoker: ReturnType<typeof scriptedInvoker>;
  readonly schedulers: Scheduler[];
  readonly start: (overrides?: Partial<SchedulerOptions>) => Promise<Scheduler>;
  deploy(name: string, triggers: Trigger[]): Promise<void>;
  /** Moves virtual time, letting every scheduler finish each wake-up it causes. */
  advance(ms: number): Promise<void>;
  /** The records of aerofn.schedule: ticks, or with `true` only the checkpoints. */
  ticks(checkpoints?: boolean): Promise<TickRecord[]>;
  calls(name?: string): InvokeRequest[];
  close(): Promise<void>;
}

/** A minute boundary after the real now, so that deploy times and virtual times agree. */
export const virtualStart = (): number => Math.ceil((Date.now() + 60_000) / 60_000) * 60_000;

export async function schedulerRig(behaviours: Record<string, Behaviour> = {}, startMs = virtualStart()): Promise<SchedulerRig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-scheduler-'));
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  const clock = new ManualClock(startMs);
  const registry = createRegistry({ log, defaults: { sandbox: { timeoutMs: 10_000, memoryMb: 128, stackKb: 1024 }, retry: defaultRetryPolicy }, logger: silentLogger(), now: () => clock.now() });
  await registry.start();
  const invoker = scriptedInvoker(new Proxy(behaviours, { get: (target, name: string) => target[name] ?? (() => ({ output: 'null' })) }));
  const schedulers: Scheduler[] = [];
  const idle = async (): Promise<void> => {
    // Two passes: a run that ends can let a queued catch-up run start.
    for (let i = 0; i < 2; i += 1) await Promise.all(schedulers.map((s) => s.idle()));
  };
  let n = 0;
  return {
    log,
    registry,
    clock,
    invoker,
    schedulers,
    async start(overrides = {}) {
      n += 1;
      const scheduler = createScheduler({ log, jobs: registry, invoker, logger: silentLogger(), instanceId: `instance-${n}`, clock, leasePollMs: 50, ...overrides });
      schedulers.push(scheduler);
      await scheduler.start();
      await idle();
      return scheduler;
    },
    async deploy(name, triggers) {
      await registry.deploy({ name, wasm: wasmModule(name.slice(0, 20)), triggers });
      await idle();
    },
    advance: (ms) => clock.advance(ms, idle),
    async ticks(checkpoints = false) {
      const out: TickRecord[] = [];
      const end = (await log.endOffsets('aerofn.schedule'))[0] ?? 0;
      for (let offset = 0; offset < end; ) {
        const records = await log.read('aerofn.schedule', 0, offset);
        for (const record of records) {
          const tick = decodeTick(record);
          if (tick !== undefined && (tick.kind !== 'checkpoint') !== checkpoints) out.push(tick);
        }
        offset = records[records.length - 1]!.offset + 1;
      }
      return out;
    },
    calls: (name) => invoker.calls.filter((c) => name === undefined || c.functionName === name),
    async close() {
      await Promise.all(schedulers.map((s) => s.stop(1000)));
      await registry.close();
      await log.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const scheduledAtOf = (request: InvokeRequest): string => (JSON.parse(request.payload) as { scheduledAt: string }).scheduledAt;
