import { loadConfig } from '../../src/config/index.js';
import type { EventLog } from '../../src/eventlog/index.js';
import { createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry, defaultRetryPolicy, type Registry } from '../../src/registry/index.js';
import { createScheduler, decodeTick, type Scheduler, type TickRecord } from '../../src/scheduler/index.js';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../fixtures/wasm/wat-parts.js';

/** One service instance's scheduler parts, as main.ts composes them: registry, real sandbox invoker, scheduler. */
export interface SchedulerInstance {
  readonly name: string;
  readonly log: EventLog;
  readonly registry: Registry;
  readonly invoker: SandboxInvoker;
  readonly scheduler: Scheduler;
  close(): Promise<void>;
}

const echoWat = `(module (memory (export "memory") 1) ${bumpAllocator(4096)}
  (func (export "handler") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1)))))`;

export const echoWasm = (): Promise<Uint8Array> => watToWasm(echoWat);

/** The two jobs the failover tests run: every second, one skipping missed runs and one catching up. */
export async function deployTestJobs(registry: Registry): Promise<void> {
  const wasm = await echoWasm();
  await registry.deploy({ name: 'every-second', wasm, triggers: [{ type: 'schedule', cron: '* * * * * *' }] });
  await registry.deploy({ name: 'catching-up', wasm, triggers: [{ type: 'schedule', cron: '* * * * * *', catchUp: true }] });
}

export async function startSchedulerInstance(log: EventLog, prefix: string, name: string, onRecord: (record: InvocationRecord) => void): Promise<SchedulerInstance> {
  const registry = createRegistry({ log, topicPrefix: prefix, defaults: { sandbox: { timeoutMs: 5000, memoryMb: 16, stackKb: 1024 }, retry: defaultRetryPolicy }, logger: silentLogger() });
  await registry.start();
  const invoker = createInvoker({ functions: registry, config: loadConfig({ AEROFN_WORKERS: '1' }).sandbox, logger: silentLogger() });
  await invoker.ready();
  const scheduler = createScheduler({ log, jobs: registry, invoker, logger: silentLogger(), instanceId: name, topicPrefix: prefix, leasePollMs: 100, onRecord });
  await scheduler.start();
  return {
    name,
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
}

export async function readTicks(log: EventLog, topic: string): Promise<TickRecord[]> {
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
