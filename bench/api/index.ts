/**
 * REST and gRPC invoke of the echo function at 50 concurrent clients, side by side with the
 * in-process invoker (the floor: same registry, same sandbox pool size, no transport), in one run.
 *
 * The server is `serve()` of src/main.ts in a child process (as `aerofn serve` runs it, embedded
 * defaults, stream processor on); the load generators run in this process: autocannon for REST,
 * 50 concurrent unary calls on one grpc-js channel for gRPC. The in-process peer runs a second
 * invoker here over the server's data after the server has stopped, so the two never share cores.
 *
 *   bash scripts/run-bench.sh api     BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_GRPC_CHANNELS=4 to change the run
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { FunctionsApiClient } from '../../src/api/index.js';
import { anonContext, mintToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openEventLog } from '../../src/eventlog/index.js';
import { createInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry, defaultRetryPolicy } from '../../src/registry/index.js';
import { watToWasm } from '../../test/fixtures/wasm/compile-fixture.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const channels = Number(process.env['BENCH_GRPC_CHANNELS'] ?? 1);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const payload = JSON.stringify({ message: 'hello', n: 42 });

interface Result {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time per request of the server process (all its threads) and of the load generator, µs. */
  serverCpuUs?: number;
  clientCpuUs?: number;
}

/** utime + stime of a process, all threads, in seconds (Linux /proc; USER_HZ = 100). */
async function processCpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** Runs `measure` and adds the CPU both sides spent per request: on a busy machine wall-clock rates move, CPU per request much less. */
async function withCpu(serverPid: number | undefined, measure: () => Promise<Result>): Promise<Result> {
  const server0 = serverPid === undefined ? 0 : await processCpuSeconds(serverPid);
  const client0 = ownCpuSeconds();
  const result = await measure();
  const client = ownCpuSeconds() - client0;
  const server = serverPid === undefined ? 0 : (await processCpuSeconds(serverPid)) - server0;
  const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, result.requests);
  if (serverPid === undefined) result.serverCpuUs = perRequest(client);
  else {
    result.serverCpuUs = perRequest(server);
    result.clientCpuUs = perRequest(client);
  }
  return result;
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** `concurrency` loops calling `call` until the time is up; latency of every call in ms. */
async function closedLoop(name: string, call: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { name, requests: latencies.length, errors, rps: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** BENCH_SERVER_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) adds node flags to the server, to profile it. */
const serverNodeFlags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; http: string; grpc: string }> {
  const child = spawn(process.execPath, [...serverNodeFlags, '--import', 'tsx', '--input-type=module', '-e', "const { serve } = await import('./src/main.ts'); await serve();"], {
    cwd: repo,
    env: { PATH: process.env['PATH'], NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string; grpc?: string };
        if (entry.msg === 'aerofn serving') resolve({ child, http: `http://${entry.http}`, grpc: entry.grpc! });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
}

async function echoModule(): Promise<{ bytes: Uint8Array; source: string }> {
  const built = join(repo, 'sdk/assemblyscript/build/echo.wasm');
  if (existsSync(built)) return { bytes: await readFile(built), source: 'sdk/assemblyscript/examples/echo (AssemblyScript SDK)' };
  const wat = await readFile(join(repo, 'test/fixtures/wasm/echo.wat'), 'utf8');
  return { bytes: await watToWasm(wat), source: 'test/fixtures/wasm/echo.wat (run make build-wasm for the SDK echo)' };
}

const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-bench-api-'));
const secret = randomBytes(16).toString('hex');
const env = {
  AEROFN_DATA_DIR: dataDir,
  AEROFN_HTTP_PORT: '0',
  AEROFN_GRPC_PORT: '0',
  AEROFN_JWT_SECRET: secret,
  AEROFN_LOG_LEVEL: 'warn',
  AEROFN_LOG_FSYNC: 'false',
};
const results: Result[] = [];
const echo = await echoModule();
try {
  // Logs at warn: the "serving" line is info, so ask for it on a second start-up channel.
  const server = await startServer({ ...env, AEROFN_LOG_LEVEL: 'info' });
  const token = await mintToken({ secret, role: 'service_role' });
  const deployed = await fetch(`${server.http}/functions/v1/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'echo', wasm: Buffer.from(echo.bytes).toString('base64'), config: { verifyJwt: false } }),
  });
  if (deployed.status !== 201) throw new Error(`deploy failed: ${deployed.status} ${await deployed.text()}`);

  // Warm-up: compile the module in every worker, JIT the paths.
  await autocannon({ url: `${server.http}/functions/v1/echo`, method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, connections, duration: 2 });

  results.push(
    await withCpu(server.child.pid, async () => {
      const rest = await autocannon({
        url: `${server.http}/functions/v1/echo`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        connections,
        duration: seconds,
      });
      return {
        name: `REST  POST /functions/v1/echo (autocannon, ${connections} connections)`,
        requests: rest.requests.total,
        errors: rest.errors + rest.non2xx,
        rps: rest.requests.average,
        p50: rest.latency.p50,
        p99: rest.latency.p99,
      };
    }),
  );

  // Several HTTP/2 connections, as a pool of clients would open; each channel keeps its own subchannel.
  const clients = Array.from({ length: channels }, () => new FunctionsApiClient(server.grpc, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } }));
  let next = 0;
  const grpcInvoke = () => clients[next++ % channels]!.invoke('echo', payload);
  await closedLoop('warm-up', grpcInvoke).catch(() => undefined);
  results.push(await withCpu(server.child.pid, () => closedLoop(`gRPC  Functions/Invoke (grpc-js, ${connections} in flight on ${channels} connection${channels === 1 ? '' : 's'})`, grpcInvoke)));
  for (const client of clients) client.close();

  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));

  // The floor: the same registry (replayed from the server's log) and a sandbox pool of the same size, no transport.
  const config = loadConfig(env);
  const logger = silentLogger();
  const log = await openEventLog({ config: config.eventLog, dataDir, logger });
  const registry = createRegistry({ log, defaults: { sandbox: config.sandbox.defaults, retry: defaultRetryPolicy }, logger });
  await registry.start();
  const invoker = createInvoker({ functions: registry, config: config.sandbox, logger });
  await invoker.ready();
  const invoke = () => invoker.invoke({ functionName: 'echo', payload, trigger: 'http', rls: anonContext }).then((record) => {
    if (!record.outcome.ok) throw new Error(record.outcome.error.message);
  });
  await closedLoop('warm-up', invoke);
  results.push(await withCpu(undefined, () => closedLoop(`in-process Invoker.invoke (${connections} in flight)`, invoke)));
  await invoker.close();
  await registry.close();
  await log.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const floor = results[results.length - 1]!;
console.log(`echo module: ${echo.source}; payload ${payload.length} B; ${seconds} s per run; ${connections} concurrent clients; node ${process.version}`);
console.log('| path | requests | errors | req/s | p50 ms | p99 ms | req/s vs in-process | server CPU µs/req | vs in-process | load generator CPU µs/req |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const cpu = r.serverCpuUs ?? NaN;
  console.log(
    `| ${r.name} | ${r.requests} | ${r.errors} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.rps / floor.rps).toFixed(2)}× | ${cpu.toFixed(0)} | ${(cpu / (floor.serverCpuUs ?? NaN)).toFixed(2)}× | ${r.clientCpuUs === undefined ? '-' : r.clientCpuUs.toFixed(0)} |`,
  );
}
