/**
 * Where the CPU of an embedded pipeline goes, thread by thread: µs per event of every thread of
 * the process (the main thread, stream threads, sandbox workers, V8's platform threads that
 * compile and collect garbage, libuv's pool), three rounds of 100,000 events.
 *
 *   node --max-semi-space-size=32 --import tsx --import ./bench/use-compiled.mjs bench/pipeline/threads-profile.ts
 *   T=1 …      the pipeline on the main thread (default T=2: two stream threads)
 *   P=3 …      partitions of the change topic (default 4)
 *   WARM=1 …   time a second 100,000 events, after the first ran through the same threads
 *   FSYNC=0 …  the embedded log without fsync
 *
 * It found that new stream threads spend their first 100,000 events compiling: ~12-14 µs per
 * event in V8's platform threads cold, ~3-5 warm (docs/benchmarks-pipeline.md, "Fourteenth session").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NEVER } from 'rxjs';
import { openEmbeddedEventLog } from '../../src/eventlog/index.js';
import { createInMemoryFunctions } from '../../src/invoker/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline, createStreamThreads } from '../../src/pipeline/index.js';
import { createInvoker } from '../../src/invoker/index.js';
import { watToWasm } from '../../test/fixtures/wasm/compile-fixture.js';
import { threadCpuMs } from './thread-cpu.js';

const total = 100_000;
const threads = Number(process.env['T'] ?? 2);
const parts = Number(process.env['P'] ?? 4);
const noopWat = `(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64) (i64.const 0)))`;
const functions = createInMemoryFunctions();
await functions.deploy('noop', await watToWasm(noopWat), { triggers: [{ type: 'database', table: 'bench', operations: ['INSERT'] }] });
const dir = await mkdtemp(join(tmpdir(), 'tp-'));
const log = await openEmbeddedEventLog({ dataDir: dir, logger: silentLogger(), fsync: process.env['FSYNC'] !== '0' });
for (let round = 0; round < 3; round++) {
  const changes = `r${round}.aerodb.changes`;
  await log.ensureTopic({ name: changes, partitions: parts });
  for (let i = 0; i < total; i += 5000) await log.append(changes, Array.from({ length: 5000 }, (_, j) => ({ key: `bench:${(i + j) % 1000}`, value: JSON.stringify({ table: 'bench', op: 'INSERT', row: { id: (i + j) % 1000, n: i + j }, commitTs: Date.now() }) })));
  const group = `g${round}`;
  const config = { ...loadConfig({}).pipeline, groupId: group };
  const common = { log, topicPrefix: `r${round}.`, logger: silentLogger(), instanceId: 'bench', config };
  const invoker = threads === 1 ? createInvoker({ functions, config: loadConfig({}).sandbox, logger: silentLogger() }) : undefined;
  await invoker?.ready();
  const pipeline = invoker !== undefined ? createPipeline({ ...common, invoker, functions: functions.list() }) : createStreamThreads({ ...common, threads, functions: { listFunctions: () => functions.list(), changes$: NEVER, getModule: (sha) => functions.getModule(sha) }, hostFunctions: {}, sandbox: loadConfig({}).sandbox });
  await pipeline.start();
  const warm = process.env['WARM'] === '1';
  if (warm) {
    for (;;) {
      const committed = [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0);
      if (committed >= total) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < total; i += 5000) await log.append(changes, Array.from({ length: 5000 }, (_, j) => ({ key: `bench:${(i + j) % 1000}`, value: JSON.stringify({ table: 'bench', op: 'INSERT', row: { id: (i + j) % 1000, n: i + j }, commitTs: Date.now() }) })));
  }
  const target = warm ? 2 * total : total;
  const before = threadCpuMs();
  const began = performance.now();
  for (;;) {
    const committed = [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0);
    if (committed >= target) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - began;
  const after = threadCpuMs();
  const rows = [...after].map(([name, v]) => [name, v - (before.get(name) ?? 0)] as const).filter(([, v]) => v > 20).sort((a, b) => b[1] - a[1]);
  console.log(`round ${round}: ${Math.round((total / ms) * 1000)} ev/s; per-thread µs/event: ${rows.map(([n, v]) => `${n}=${((v * 1000) / total).toFixed(1)}`).join(' ')}; sum ${((rows.reduce((a, [, v]) => a + v, 0) * 1000) / total).toFixed(1)}`);
  await pipeline.stop();
  await invoker?.close();
}
await log.close();
await rm(dir, { recursive: true, force: true });
