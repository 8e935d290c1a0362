/**
 * The host-call bridge alone: a WAT guest calls `db_query` N times in one invocation against a
 * trivial async host function that answers at once (no database), so per call =
 * (invocation with N calls − invocation with 0 calls) / N is only guest → worker → main thread →
 * HostFunction → reply → guest (the guest is test/fixtures/wasm/host-call-loop.wat). Compared side by side with a warm echo invocation round trip.
 * BENCH_HOST picks a slower host function (see below), to see the bridge around real work.
 *
 *   bash scripts/run-bench.sh host-call          BENCH_ROUNDS=60 BENCH_CALLS=200 to change the run
 *   BENCH_HOST=pg-slow bash scripts/run-bench.sh host-call
 */
import { anonContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createInMemoryFunctions, createInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { compileFixture } from '../../test/fixtures/wasm/compile-fixture.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 60);
const calls = Number(process.env['BENCH_CALLS'] ?? 200);


const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;

const answer = '{"rows":[{"id":42}]}';
// What the host function does before it answers (BENCH_HOST):
//   (unset)  nothing: the bridge alone
//   pg       awaits `select 1` on PostgreSQL: the threads sleep while real I/O is in flight, as
//            they do for db_query (the per-call time then includes that query)
//   pg-slow  awaits a statement that keeps PostgreSQL busy for ~0.3-0.5 ms (a count over
//            BENCH_HOST_ROWS=10000 generated rows): as long as a db_query under RLS takes
//   busy     keeps the main thread busy for BENCH_HOST_MICROS=400 µs, then answers: as PGlite does
const hostMode = process.env['BENCH_HOST'] ?? '';
const hostModes: Record<string, string> = {
  '': 'answers at once',
  pg: 'select 1 on PostgreSQL',
  'pg-slow': `count over ${process.env['BENCH_HOST_ROWS'] ?? 10000} rows on PostgreSQL`,
  busy: `${process.env['BENCH_HOST_MICROS'] ?? 400} µs busy on the main thread`,
};
if (hostModes[hostMode] === undefined) throw new Error(`BENCH_HOST must be one of ${Object.keys(hostModes).join(', ')}`);
let hostWork: () => Promise<unknown> = () => Promise.resolve();
let closeHost = async (): Promise<void> => {};
if (hostMode === 'pg' || hostMode === 'pg-slow') {
  const pgUrl = process.env['AEROFN_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:54329/postgres';
  const db = await openDatabase({ config: { database: { url: pgUrl, poolSize: 1 } }, dataDir: '', logger: silentLogger() });
  const rows = Number(process.env['BENCH_HOST_ROWS'] ?? 10_000);
  hostWork = hostMode === 'pg' ? () => db.admin('select 1') : () => db.admin('select count(*) from generate_series(1, $1::int)', [rows]);
  closeHost = () => db.close();
} else if (hostMode === 'busy') {
  const busyMs = Number(process.env['BENCH_HOST_MICROS'] ?? 400) / 1000;
  hostWork = () => {
    const until = performance.now() + busyMs;
    while (performance.now() < until);
    return Promise.resolve();
  };
}
const hostFunction = async (): Promise<string> => (await hostWork(), answer);
const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
const functions = createInMemoryFunctions(config.defaults);
const invoker = createInvoker({ functions, hostFunctions: { db_query: hostFunction }, config, logger: silentLogger() });
await functions.deploy('loop', await compileFixture('host-call-loop'), { config: { timeoutMs: 60_000 } });
await invoker.ready();
const rls = anonContext;
const invoke = async (count: number): Promise<number> => {
  const began = performance.now();
  const record = await invoker.invoke({ functionName: 'loop', payload: String(count), trigger: 'http', rls });
  const took = performance.now() - began;
  if (!record.outcome.ok) throw new Error(`guest failed: ${JSON.stringify(record.outcome.error)}`);
  if (count > 0 && record.outcome.output !== answer) throw new Error(`unexpected answer ${record.outcome.output}`);
  return took;
};

for (let i = 0; i < 10; i += 1) {
  await invoke(calls);
  await invoke(0);
}
// The peer: the same host function awaited N times from Node, without the sandbox.
const fromNode = async (): Promise<number> => {
  const began = performance.now();
  for (let i = 0; i < calls; i += 1) await hostFunction();
  return (performance.now() - began) / calls;
};
const perCall: number[] = [];
const peers: number[] = [];
const empties: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const empty = await invoke(0);
  const full = await invoke(calls);
  empties.push(empty);
  perCall.push((full - empty) / calls);
  peers.push(await fromNode());
}
await invoker.close();
await closeHost();
console.log(`host-call bridge: ${rounds} rounds × ${calls} calls of an async HostFunction (${hostModes[hostMode]})`);
console.log(`  per host call       p50 ${us(percentile(perCall, 50))}   p90 ${us(percentile(perCall, 90))}`);
console.log(`  from Node (peer)    p50 ${us(percentile(peers, 50))}   bridge alone p50 ${us(percentile(perCall, 50) - percentile(peers, 50))}`);
console.log(`  invocation, 0 calls p50 ${us(percentile(empties, 50))}   p90 ${us(percentile(empties, 90))}`);
console.log(`  ratio: one host call = ${(percentile(perCall, 50) / percentile(empties, 50)).toFixed(2)}× a whole invocation`);
