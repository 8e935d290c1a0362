/**
 * REST and gRPC invoke of the echo function at 50 concurrent clients, side by side with the
 * in-process invoker (the floor: same registry, same sandbox pool size, no transport), in one run.
 *
 * The server is `serve()` of src/main.ts in a child process (as `aerofn serve` runs it, embedded
 * defaults, stream processor on). Load generators: autocannon for REST (in this process); ghz for
 * gRPC (Go, a child process: the target row, a client that leaves the cores to the server); and
 * 50 concurrent unary calls with our grpc-js client (the client our users run). The transport
 * floors are a bare grpc-js server answering Invoke with the same codec and options (no AeroDB
 * code), plain and with Invoke on src/api/grpc's fast unary path, driven by ghz the same way. The in-process peer runs a second invoker here over the server's data
 * after the server has stopped, so the two never share cores.
 *
 *   bash scripts/run-bench.sh api
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_GRPC_CHANNELS=1 BENCH_GHZ_CONNECTIONS=4 BENCH_GHZ_RPS=0
 *   BENCH_GHZ_WARMUP_SECONDS=5 change the run;
 *   BENCH_ROWS=ghz (comma list of rest, ghz, ghz-jwt, grpc-js, floor, floor-fast, in-process) runs only those rows, e.g. to profile.
 *   BENCH_LOG_FSYNC=false runs the server without the embedded log's fsync (the default, as shipped, is on).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { FunctionsApiClient, protoPath } from '../../src/api/index.js';
import { anonContext, mintToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openEventLog } from '../../src/eventlog/index.js';
import { createInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createRegistry, defaultRetryPolicy } from '../../src/registry/index.js';
import { InvokeRequest } from '../../src/gen/aerodb/functions/v1/functions.js';
import { watToWasm } from '../../test/fixtures/wasm/compile-fixture.js';
import { ghzPath, runGhz, type GhzOptions } from './ghz.js';
import { closedLoop, withCpu, type Result } from './measure.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const channels = Number(process.env['BENCH_GRPC_CHANNELS'] ?? 1);
const ghzConnections = Number(process.env['BENCH_GHZ_CONNECTIONS'] ?? 4);
/** A fixed call rate for the ghz rows (0 = closed loop): compares CPU per call at equal load. */
const ghzRps = Number(process.env['BENCH_GHZ_RPS'] ?? 0);
/** Warm-up of the server's gRPC path before its first ghz row (JIT of the fast path, the sessions). */
const ghzWarmUpSeconds = Number(process.env['BENCH_GHZ_WARMUP_SECONDS'] ?? 5);
const rows = new Set((process.env['BENCH_ROWS'] ?? 'rest,ghz,ghz-jwt,grpc-js,floor,floor-fast,in-process').split(','));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const payload = JSON.stringify({ message: 'hello', n: 42 });

/**
 * The server's node flags: the product's own (the shebang of bin/aerofn.js, which `aerofn serve`
 * starts with), then BENCH_SERVER_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, to profile it).
 */
const productNodeFlags = (/^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync('bin/aerofn.js', 'utf8').split('\n')[0] ?? '')?.[1] ?? '').split(' ');
const serverNodeFlags = [...productNodeFlags, ...(process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ')].filter((flag) => flag !== '');

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; http: string; grpc: string }> {
  // The compiled server, as `aerofn serve` runs it (scripts/run-bench.sh checked dist/ is fresh).
  const child = spawn(process.execPath, [...serverNodeFlags, '--input-type=module', '-e', "const { serve } = await import('./dist/main.js'); await serve();"], {
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

/** bench/api/grpc-floor-server.ts in a child process, as the AeroDB server runs (same node flags). */
async function startFloorServer(fast: boolean): Promise<{ child: ChildProcess; target: string }> {
  const child = spawn(process.execPath, [...serverNodeFlags, '--import', 'tsx', '--import', './bench/use-compiled.mjs', 'bench/api/grpc-floor-server.ts', ...(fast ? ['--fast'] : [])], {
    cwd: repo,
    env: { PATH: process.env['PATH'], NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve({ child, target: `127.0.0.1:${(JSON.parse(line) as { port: number }).port}` }));
    child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
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
  AEROFN_LOG_FSYNC: process.env['BENCH_LOG_FSYNC'] ?? 'true',
};
const results: Result[] = [];
// The machine is shared: its load average at the start and end says how far to trust req/s.
const loadAtStart = loadavg();
const echo = await echoModule();
const ghz = ghzPath(repo);
const ghzOptions = (binary: string): GhzOptions => ({
  ghz: binary,
  protoPath,
  call: 'aerodb.functions.v1.Functions/Invoke',
  requestBytes: InvokeRequest.encode({ name: 'echo', payload }).finish(),
  concurrency: connections,
  connections: ghzConnections,
  seconds,
  rps: ghzRps,
});
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

  if (rows.has('rest')) {
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
  }

  if (ghz !== undefined && rows.has('ghz')) {
    await runGhz('warm-up', server.grpc, { ...ghzOptions(ghz), seconds: ghzWarmUpSeconds });
    results.push(await withCpu(server.child.pid, () => runGhz(`gRPC  Functions/Invoke (ghz, ${connections} in flight on ${ghzConnections} connections)`, server.grpc, ghzOptions(ghz))));
  }
  if (ghz !== undefined && rows.has('ghz-jwt')) {
    // As clients call in practice: with a JWT (the anon key) on every call, which the server verifies.
    const anonKey = await mintToken({ secret, role: 'anon' });
    const withJwt = { ...ghzOptions(ghz), metadata: { authorization: `Bearer ${anonKey}` } };
    results.push(await withCpu(server.child.pid, () => runGhz(`gRPC  Functions/Invoke with a JWT (ghz, same settings, anon key on every call)`, server.grpc, withJwt)));
  }

  if (rows.has('grpc-js')) {
    // Several HTTP/2 connections, as a pool of clients would open; each channel keeps its own subchannel.
    const clients = Array.from({ length: channels }, () => new FunctionsApiClient(server.grpc, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } }));
    let next = 0;
    const grpcInvoke = () => clients[next++ % channels]!.invoke('echo', payload);
    await closedLoop('warm-up', 2, connections, grpcInvoke).catch(() => undefined);
    const name = `gRPC  Functions/Invoke (grpc-js client, ${connections} in flight on ${channels} connection${channels === 1 ? '' : 's'})`;
    results.push(await withCpu(server.child.pid, () => closedLoop(name, seconds, connections, grpcInvoke)));
    for (const client of clients) client.close();
  }

  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));

  // The transport floors: grpc-js alone, and the fast unary path src/api/grpc serves Invoke on.
  for (const fast of [false, true]) {
    if (ghz === undefined || !rows.has(fast ? 'floor-fast' : 'floor')) continue;
    const floorServer = await startFloorServer(fast);
    try {
      await runGhz('warm-up', floorServer.target, { ...ghzOptions(ghz), seconds: 2 });
      const name = fast ? 'transport floor: the same server, Invoke on our fast unary path (ghz, same settings)' : 'transport floor: bare grpc-js Invoke, no AeroDB code (ghz, same settings)';
      results.push(await withCpu(floorServer.child.pid, () => runGhz(name, floorServer.target, ghzOptions(ghz))));
    } finally {
      floorServer.child.kill('SIGTERM');
      await new Promise((resolve) => floorServer.child.once('exit', resolve));
    }
  }

  if (rows.has('in-process')) {
    // The in-process floor: the same registry (replayed from the server's log) and a sandbox pool of the same size, no transport.
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
    await closedLoop('warm-up', 2, connections, invoke);
    results.push(await withCpu(undefined, () => closedLoop(`in-process Invoker.invoke (${connections} in flight)`, seconds, connections, invoke)));
    await invoker.close();
    await registry.close();
    await log.close();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const floor = results.find((r) => r.name.startsWith('in-process')) ?? { rps: NaN, serverCpuUs: NaN };
console.log(`echo module: ${echo.source}; payload ${payload.length} B; ${seconds} s per run; ${connections} concurrent clients; node ${process.version}`);
console.log(`load average (1/5/15 min) at the start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (ghz === undefined) console.log('ghz rows skipped: .cache/bin/ghz is missing (bash scripts/install-ghz.sh needs Go)');
console.log('| path | requests | errors | req/s | p50 ms | p99 ms | req/s vs in-process | server CPU µs/req | vs in-process | server main thread µs/req | load generator CPU µs/req |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const fixed = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));
for (const r of results) {
  const cpu = r.serverCpuUs ?? NaN;
  console.log(
    `| ${r.name} | ${r.requests} | ${r.errors} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.rps / floor.rps).toFixed(2)}× | ${cpu.toFixed(0)} | ${(cpu / (floor.serverCpuUs ?? NaN)).toFixed(2)}× | ${fixed(r.serverMainCpuUs)} | ${fixed(r.clientCpuUs)} |`,
  );
}
