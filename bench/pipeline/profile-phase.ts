/**
 * One throughput phase of bench/pipeline, for profiling (embedded log by default):
 *   node --cpu-prof --import tsx --import ./bench/use-compiled.mjs bench/pipeline/profile-phase.ts            (real sandbox)
 *   PROFILE_INVOKER=in-process node --cpu-prof --import tsx --import ./bench/use-compiled.mjs bench/pipeline/profile-phase.ts
 *   PROFILE_LOG=kafka node --import tsx --import ./bench/use-compiled.mjs bench/pipeline/profile-phase.ts      (Kafka at AEROFN_TEST_KAFKA_BROKERS)
 *   PROFILE_FSYNC=0 …                                                         (embedded log without fsync)
 *   PROFILE_CPU=main.cpuprofile …      (the main thread's CPU profile of the phase alone, without set-up)
 *   PROFILE_WORKERS=1 …                (sandbox workers; default: the config's)
 *   PROFILE_MARK=/tmp/mark …           (writes the file when the phase starts: attach `perf record -p` then)
 *   PROFILE_WARMUP=3 …                 (three phases first, each with its own pipeline: a warm process, as bench/pipeline's counted pairs)
 *   AEROFN_PIPELINE_HIGH_WATERMARK=20000 … (any AEROFN_PIPELINE_* setting; default: the product's defaults)
 *   PROFILE_BARRIER=/tmp/dir PROFILE_PARTIES=2 … (several processes start their measured phase together; see parallel-ceiling.sh)
 * It prints events/s and the CPU per event of the process, of the main thread alone and of every
 * other thread (sandbox workers, V8's GC and compiler helpers, libuv's pool). The main thread is
 * the pipeline's limit: its CPU per event is the cost a change to the path moves. On this VM the
 * same work's CPU per event moves with the minute too (16.5–22.2 µs in eight warm phases of the
 * twelfth session), so compare changes in alternating pairs.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { openEmbeddedEventLog, openKafkaEventLog, type AppendRecord } from '../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type InvokeRequest } from '../../src/invoker/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline } from '../../src/pipeline/index.js';
import { watToWasm } from '../../test/fixtures/wasm/compile-fixture.js';
import { threadCpuMs } from './thread-cpu.js';

const total = Number(process.env['BENCH_EVENTS'] ?? 100_000);
const event = (n: number): AppendRecord => ({ key: `bench:${n % 1000}`, value: JSON.stringify({ table: 'bench', op: 'INSERT', row: { id: n % 1000, n }, commitTs: Date.now() }) });
const noopWat = `(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64) (i64.const 0)))`;
const functions = createInMemoryFunctions();
const real = createInvoker({ functions, config: loadConfig(process.env['PROFILE_WORKERS'] === undefined ? {} : { AEROFN_WORKERS: process.env['PROFILE_WORKERS'] }).sandbox, logger: silentLogger(), ...(process.env['PROFILE_MAIN_SPIN_MICROS'] === undefined ? {} : { mainSpinMicros: Number(process.env['PROFILE_MAIN_SPIN_MICROS']) }), ...(process.env['PROFILE_SPIN_MICROS'] === undefined ? {} : { spinMicros: Number(process.env['PROFILE_SPIN_MICROS']) }) });
await real.ready();
await functions.deploy('noop', await watToWasm(noopWat), { triggers: [{ type: 'database', table: 'bench', operations: ['INSERT'] }] });
const inProcess = {
  async invoke(request: InvokeRequest): Promise<InvocationRecord> {
    const id = request.invocationId ?? 'x';
    const now = Date.now();
    return {
      id, function: request.functionName, version: 1, sha256: '', trigger: request.trigger, source: request.source ?? null, input: request.payload,
      context: { invocationId: id, function: request.functionName, version: 1, trigger: request.trigger, role: request.rls.role, sub: request.rls.sub, claims: request.rls.claims, attempt: 1, now },
      journal: [], outcome: { ok: true, output: 'null' }, attempt: 1, startedAt: new Date(now).toISOString(), durationMs: 0, memoryBytes: 0,
    };
  },
};
const dir = await mkdtemp(join(tmpdir(), 'aerofn-profile-pipeline-'));
const kafka = process.env['PROFILE_LOG'] === 'kafka';
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const log = kafka ? await openKafkaEventLog({ brokers, clientId: `profile-${process.pid}`, logger: silentLogger() }) : await openEmbeddedEventLog({ dataDir: dir, logger: silentLogger(), fsync: process.env['PROFILE_FSYNC'] !== '0' });
// Unique topics per run on a shared broker.
const runPrefix = kafka ? `profile-${process.pid}-${Date.now()}.` : 'p.';
const pipelineConfig = loadConfig(process.env).pipeline;
/** Fills a change topic of its own and starts a pipeline on it; resolves once it is subscribed. */
async function preparePhase(name: string): Promise<{ pipeline: ReturnType<typeof createPipeline>; group: string; changes: string }> {
  const prefix = `${runPrefix}${name}.`;
  const group = `${prefix}g`;
  const changes = `${prefix}aerodb.changes`;
  await log.ensureTopic({ name: changes, partitions: 3 });
  for (let i = 0; i < total; i += 5000) await log.append(changes, Array.from({ length: Math.min(5000, total - i) }, (_, j) => event(i + j)));
  const pipeline = createPipeline({
    log, invoker: process.env['PROFILE_INVOKER'] === 'in-process' ? inProcess : real, functions: functions.list(), topicPrefix: prefix, logger: silentLogger(), instanceId: 'bench',
    // The product's defaults (AEROFN_PIPELINE_*), as `aerofn serve` runs; each can be set here too.
    config: { ...pipelineConfig, groupId: group },
  });
  if (name === 'phase') await barrier();
  // Started before the clock, as in bench/pipeline: the phase is processing, not joining the group.
  await pipeline.start();
  return { pipeline, group, changes };
}
/**
 * PROFILE_BARRIER=dir, PROFILE_PARTIES=n: waits until n processes are ready for their measured
 * phase, so that n pipelines in n processes run side by side (parallel-ceiling.sh).
 */
async function barrier(): Promise<void> {
  const dir = process.env['PROFILE_BARRIER'];
  if (dir === undefined) return;
  const parties = Number(process.env['PROFILE_PARTIES'] ?? 2);
  await writeFile(join(dir, `${process.pid}.ready`), '');
  while ((await readdir(dir)).filter((file) => file.endsWith('.ready')).length < parties) await new Promise((resolve) => setTimeout(resolve, 2));
}
async function waitDone(group: string, changes: string): Promise<void> {
  for (;;) {
    const done = [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0);
    if (done >= total) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
// PROFILE_WARMUP=n: n phases first, each with a pipeline of its own, as bench/pipeline's warm-up
// and earlier pairs run before a counted one: a warm process has its code optimized (a cold one
// spends the phase's first second compiling on V8's helper threads).
for (let n = 0; n < Number(process.env['PROFILE_WARMUP'] ?? 0); n++) {
  const warm = await preparePhase(`warm${n}`);
  await waitDone(warm.group, warm.changes);
  await warm.pipeline.stop();
}
const { pipeline, group, changes } = await preparePhase('phase');
// Allocation and GC are deterministic where events/s is not: bytes allocated per event (the used
// heap's growth between collections), bytes promoted by scavenges, and collections per event.
const gc = new GCProfiler();
// PROFILE_HEAP=file.heapprofile: a sampling profile of every allocation of the phase on the main
// thread (collected objects included), to see where the garbage comes from (Chrome DevTools opens it).
const heapSession = process.env['PROFILE_HEAP'] === undefined ? undefined : new Session();
if (heapSession !== undefined) {
  heapSession.connect();
  await heapSession.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
// PROFILE_CPU=file.cpuprofile: a CPU profile of the main thread during the phase alone (no set-up).
const cpuSession = process.env['PROFILE_CPU'] === undefined ? undefined : new Session();
if (cpuSession !== undefined) {
  cpuSession.connect();
  await cpuSession.post('Profiler.enable');
  await cpuSession.post('Profiler.setSamplingInterval', { interval: 100 });
  await cpuSession.post('Profiler.start');
}
const heapStart = process.memoryUsage().heapUsed;
gc.start();
const began = performance.now();
const cpu0 = process.cpuUsage();
const wakes0 = real.stats().wakes;
const threads0 = threadCpuMs();
if (process.env['PROFILE_MARK'] !== undefined) writeFileSync(process.env['PROFILE_MARK'], String(process.pid));
await waitDone(group, changes);
const ms = performance.now() - began;
const cpu = process.cpuUsage(cpu0);
const threadCpu = [...threadCpuMs()].map(([name, ms]) => [name, ms - (threads0.get(name) ?? 0)] as const).filter(([, ms]) => ms > 0);
const mainCpu = threadCpu.find(([name]) => name === 'main')?.[1] ?? 0;
const heapEnd = process.memoryUsage().heapUsed;
if (heapSession !== undefined) {
  const { profile } = await heapSession.post('HeapProfiler.stopSampling');
  await writeFile(process.env['PROFILE_HEAP']!, JSON.stringify(profile));
  heapSession.disconnect();
}
if (cpuSession !== undefined) {
  const { profile } = await cpuSession.post('Profiler.stop');
  await writeFile(process.env['PROFILE_CPU']!, JSON.stringify(profile));
  cpuSession.disconnect();
}
const gcStats = gc.stop()?.statistics ?? [];
let allocated = 0;
let promoted = 0;
let scavenges = 0;
let fullGcs = 0;
let pauseUs = 0;
let lastAfter = heapStart;
const oldUsed = (stats: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }): number => stats.heapSpaceStatistics.find((space) => space.spaceName === 'old_space')?.spaceUsedSize ?? 0;
for (const entry of gcStats) {
  const before = entry.beforeGC.heapStatistics.usedHeapSize;
  const after = entry.afterGC.heapStatistics.usedHeapSize;
  allocated += Math.max(0, before - lastAfter);
  lastAfter = after;
  pauseUs += entry.cost;
  if (entry.gcType === 'Scavenge') {
    scavenges += 1;
    promoted += Math.max(0, oldUsed(entry.afterGC) - oldUsed(entry.beforeGC));
  } else if (entry.gcType === 'MarkSweepCompact') fullGcs += 1;
}
allocated += Math.max(0, heapEnd - lastAfter);
console.log(`${kafka ? 'kafka' : 'embedded'}, ${process.env['PROFILE_INVOKER'] ?? 'sandbox'}: ${Math.round((total / ms) * 1000)} events/s, process CPU ${(((cpu.user + cpu.system) / total)).toFixed(1)} µs/event, main thread CPU ${((mainCpu * 1000) / total).toFixed(1)} µs/event`);
if (process.env['PROFILE_BARRIER'] !== undefined) console.log(`  phase: ${Math.round(performance.timeOrigin + began)}..${Math.round(performance.timeOrigin + began + ms)} (epoch ms)`);
if (process.env['PROFILE_INVOKER'] !== 'in-process') console.log(`  sandbox: ${real.stats().wakes - wakes0} wake-ups of a sleeping worker`);
console.log(`  CPU by thread: ${threadCpu.sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${((ms * 1000) / total).toFixed(1)}`).join(', ')} µs/event`);
console.log(`  heap: ${Math.round(allocated / total)} B allocated/event, ${Math.round(promoted / total)} B promoted/event, ${scavenges} scavenges, ${fullGcs} mark-compacts, GC pauses ${(pauseUs / total).toFixed(1)} µs/event`);
await pipeline.stop();
await log.close();
await real.close();
await rm(dir, { recursive: true, force: true });
