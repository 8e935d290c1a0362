/**
 * The host-call bridge alone: a WAT guest calls `db_query` N times in one invocation against a
 * trivial async host function that answers at once (no database), so per call =
 * (invocation with N calls − invocation with 0 calls) / N is only guest → worker → main thread →
 * HostFunction → reply → guest (the guest is test/fixtures/wasm/host-call-loop.wat). Compared side by side with a warm echo invocation round trip.
 *
 *   bash scripts/run-bench.sh host-call          BENCH_ROUNDS=60 BENCH_CALLS=200 to change the run
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
// BENCH_HOST=pg: the host function awaits `select 1` on PostgreSQL first, so the threads sleep
// while real I/O is in flight, as they do for db_query (the per-call time then includes that query).
let hostWork: () => Promise<unknown> = () => Promise.resolve();
let closeHost = async (): Promise<void> => {};
if (process.env['BENCH_HOST'] === 'pg') {
  const pgUrl = process.env['AEROFN_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:54329/postgres';
  const db = await openDatabase({ config: { database: { url: pgUrl, poolSize: 1 } }, dataDir: '', logger: silentLogger() });
  hostWork = () => db.admin('select 1');
  closeHost = () => db.close();
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
console.log(`host-call bridge: ${rounds} rounds × ${calls} calls of an async HostFunction (${process.env['BENCH_HOST'] === 'pg' ? 'select 1 on PostgreSQL' : 'answers at once'})`);
console.log(`  per host call       p50 ${us(percentile(perCall, 50))}   p90 ${us(percentile(perCall, 90))}`);
console.log(`  from Node (peer)    p50 ${us(percentile(peers, 50))}   bridge alone p50 ${us(percentile(perCall, 50) - percentile(peers, 50))}`);
console.log(`  invocation, 0 calls p50 ${us(percentile(empties, 50))}   p90 ${us(percentile(empties, 90))}`);
console.log(`  ratio: one host call = ${(percentile(perCall, 50) / percentile(empties, 50)).toFixed(2)}× a whole invocation`);
