/**
 * Replay against the live runs it replays, side by side in one run (sequential: replay runs
 * records one after another, so the peer is the same calls made live one after another):
 *   live   — the invoker with PGlite on its thread behind db_query, as `aerofn serve` runs it
 *   replay — the same records executed again, db_query answered from each record's journal,
 *            in the replay's own one-worker sandbox, outcome and journal compared
 * Two functions: one that runs a statement (the journal stands in for the database) and an echo
 * without host calls (replay's own cost: its sandbox, the context, the comparison).
 * Run: bash scripts/run-bench.sh replay   (BENCH_RECORDS records per function, default 1000)
 */
import { loadavg } from 'node:os';
import { serviceRoleContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createReplayer, MAX_REPLAY_RECORDS } from '../../src/replay/index.js';
import { createHostFunctions } from '../../src/wasm/host/index.js';
import { compileFixture } from '../../test/fixtures/wasm/compile-fixture.js';
import { dbCall, proxyWasm } from '../../test/unit/host/guest-proxy.js';

const records = Math.min(MAX_REPLAY_RECORDS, Number(process.env['BENCH_RECORDS'] ?? 1000));
const sandbox = loadConfig(process.env).sandbox;
const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir: '', inMemory: true, logger: silentLogger() });
const functions = createInMemoryFunctions(sandbox.defaults);
await functions.deploy('query', await proxyWasm());
await functions.deploy('echo', await compileFixture('echo'));
const live = createInvoker({ functions, hostFunctions: createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, environment: {} }), ...(db.guestChannels === undefined ? {} : { guestChannels: db.guestChannels }), config: sandbox, logger: silentLogger() });
await live.ready();
const recorded = new Map<string, InvocationRecord[]>();
const replayer = createReplayer({ functions, records: async (name, limit) => (recorded.get(name) ?? []).slice(-limit).reverse(), sandbox, logger: silentLogger() });

const payloads = {
  query: (n: number) => dbCall('select $1::int as n, md5($1::text) as digest', [n]),
  echo: (n: number) => JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: n, customer: 'Ada Lovelace', total: 129.5 } }),
};

console.log(`bench/replay: ${records} records per function, sequential; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const name of ['query', 'echo'] as const) {
  const runs: InvocationRecord[] = [];
  // Warm both paths first (module compile, JIT, the replay's sandbox start is inside each replay).
  for (let i = 0; i < 50; i++) await live.invoke({ functionName: name, payload: payloads[name](i), trigger: 'http', rls: serviceRoleContext });
  const liveStarted = performance.now();
  for (let i = 0; i < records; i++) runs.push(await live.invoke({ functionName: name, payload: payloads[name](i), trigger: 'http', rls: serviceRoleContext }));
  const liveMs = performance.now() - liveStarted;
  if (runs.some((run) => !run.outcome.ok)) throw new Error(`a live ${name} run failed: ${JSON.stringify(runs.find((run) => !run.outcome.ok)?.outcome)}`);
  recorded.set(name, runs);
  await replayer.replay({ name, limit: 50 });
  // A replay of one record: mostly the replay's own sandbox starting (a worker thread).
  const oneStarted = performance.now();
  await replayer.replay({ name, limit: 1 });
  const oneMs = performance.now() - oneStarted;
  const replayStarted = performance.now();
  const summary = await replayer.replay({ name, limit: records });
  const replayMs = performance.now() - replayStarted;
  if (summary.matched !== records) throw new Error(`replay of ${name}: ${JSON.stringify(summary)}`);
  const perSecond = (ms: number): number => Math.round((records / ms) * 1000);
  console.log(`  ${name.padEnd(6)} live ${String(perSecond(liveMs)).padStart(6)} runs/s (${((liveMs * 1000) / records).toFixed(0)} µs each)   replay ${String(perSecond(replayMs)).padStart(6)} runs/s (${((replayMs * 1000) / records).toFixed(0)} µs each; a one-record replay took ${oneMs.toFixed(1)} ms)   replay/live ${(liveMs / replayMs).toFixed(2)}   ${summary.matched}/${records} match`);
}
await live.close();
await db.close();
