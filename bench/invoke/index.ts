/**
 * Warm invocation of an echo function with a ~200-byte JSON payload, side by side in one run:
 *   floor  — bare `new WebAssembly.Instance` + call on the main thread (no isolation, no limits)
 *   aerofn — the full path: invoker → module cache → worker pool → fresh instance → limits
 *   extism — @extism/extism with runInWorker: true calling the equivalent Extism echo plugin
 *            (extism-echo.wat), in a plain-Node child process started by this run
 * Run: bash scripts/run-bench.sh invoke   (BENCH_SECONDS scales the run; default 3 s per phase)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import wabtFactory from 'wabt';
import { serviceRoleContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createInMemoryFunctions, createInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { validateModule } from '../../src/wasm/index.js';

const run = promisify(execFile);
const seconds = Number(process.env['BENCH_SECONDS'] ?? 3);
const payload = JSON.stringify({
  id: 'a3f1c2e4-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  table: 'orders',
  op: 'INSERT',
  row: { id: 42, customer: 'Ada Lovelace', total: 129.5, currency: 'EUR', items: [1, 2, 3] },
  ts: 1764250000000,
});

async function wat(path: string): Promise<Uint8Array> {
  const wabt = await wabtFactory();
  const parsed = wabt.parseWat(path, await readFile(new URL(path, import.meta.url), 'utf8'));
  try {
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

interface Measured {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly opsPerSecond: number;
}

/** Sequential calls for latency (µs), then `concurrency` callers for throughput. */
async function measure(name: string, call: () => Promise<unknown> | unknown, concurrency: number): Promise<Measured> {
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) await call();
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    await call();
    samples.push((performance.now() - started) * 1000);
  }
  samples.sort((a, b) => a - b);
  let done = 0;
  const throughputUntil = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < throughputUntil) {
        await call();
        done++;
      }
    }),
  );
  const opsPerSecond = done / ((performance.now() - started) / 1000);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? NaN;
  return { name, p50: at(0.5), p99: at(0.99), opsPerSecond };
}

async function main(): Promise<void> {
  const echoWasm = await wat('../../test/fixtures/wasm/echo.wat');
  const extismWasm = await wat('./extism-echo.wat');
  const config = loadConfig(process.env).sandbox;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  // (a) floor: the same limit-rewritten module, instantiated and called on the main thread.
  const { module } = await validateModule(echoWasm, config.defaults);
  const floor = await measure('bare WebAssembly.Instance (floor)', () => {
    const instance = new WebAssembly.Instance(module, {});
    const { memory, alloc, handler } = instance.exports as { memory: WebAssembly.Memory; alloc: (n: number) => number; handler: (p: number, l: number) => bigint };
    const input = encoder.encode(payload);
    const ptr = alloc(input.length);
    new Uint8Array(memory.buffer, ptr, input.length).set(input);
    const packed = handler(ptr, input.length);
    const output = decoder.decode(new Uint8Array(memory.buffer, Number(packed >> 32n), Number(packed & 0xffffffffn)));
    JSON.parse(output);
    return output;
  }, 1);

  // (b) aerofn: the full invoker path.
  const functions = createInMemoryFunctions(config.defaults);
  await functions.deploy('echo', echoWasm);
  const invoker = createInvoker({ functions, config, logger: silentLogger(), spinMicros: Number(process.env['BENCH_SPIN_MICROS'] ?? 0), ...(process.env['BENCH_MAIN_SPIN_MICROS'] === undefined ? {} : { mainSpinMicros: Number(process.env['BENCH_MAIN_SPIN_MICROS']) }) });
  await invoker.ready();
  const request = { functionName: 'echo', payload, trigger: 'http' as const, rls: serviceRoleContext };
  const check = await invoker.invoke(request);
  if (!check.outcome.ok || check.outcome.output !== payload) throw new Error(`aerofn echo is wrong: ${JSON.stringify(check.outcome)}`);
  const ours = await measure(`aerofn invoker (pool of ${config.workers})`, () => invoker.invoke(request), 64);
  await invoker.close();

  // (c) peer: Extism in a worker, measured the same way in a plain-Node child process (see
  // extism-peer.mjs for why), one plugin per worker of ours.
  const dir = await mkdtemp(join(tmpdir(), 'aerofn-bench-invoke-'));
  let extism: Measured;
  try {
    await writeFile(join(dir, 'extism-echo.wasm'), extismWasm);
    await writeFile(join(dir, 'payload.json'), payload);
    const peer = fileURLToPath(new URL('./extism-peer.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [peer, join(dir, 'extism-echo.wasm'), join(dir, 'payload.json'), String(seconds), String(config.workers), String(config.defaults.timeoutMs)], { maxBuffer: 1 << 20 });
    extism = { name: `@extism/extism runInWorker (${config.workers} plugins)`, ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<Measured, 'name'>) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const rows = [floor, ours, extism];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(`echo of a ${Buffer.byteLength(payload)}-byte JSON payload, ${seconds} s per phase, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}, node ${process.version}`);
  console.log(line(['path', 'p50 µs', 'p99 µs', 'invocations/s', 'p50 × floor']));
  console.log(line(['---', '---:', '---:', '---:', '---:']));
  for (const row of rows) {
    console.log(line([row.name, row.p50.toFixed(1), row.p99.toFixed(1), row.opsPerSecond.toFixed(0), (row.p50 / floor.p50).toFixed(1)]));
  }
  console.log(`extism p50 / aerofn p50 = ${(extism.p50 / ours.p50).toFixed(2)}× (target ≥ 3×); aerofn throughput / extism = ${(ours.opsPerSecond / extism.opsPerSecond).toFixed(2)}×`);
  console.log(`targets: aerofn p50 ≤ 50 µs: ${ours.p50 <= 50 ? 'met' : 'missed'}; p99 ≤ 250 µs: ${ours.p99 <= 250 ? 'met' : 'missed'}; ≥ 20,000/s: ${ours.opsPerSecond >= 20_000 ? 'met' : 'missed'}`);
}

await main();
