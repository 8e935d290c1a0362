/**
 * db_query round trip: guest → host → database → guest, against the same statement issued directly
 * from Node on the same connection, measured side by side in one run, on PGlite (the embedded
 * default) and on PostgreSQL (AEROFN_TEST_DATABASE_URL, pool of one connection, when reachable).
 *
 * A guest calls db_query N times in one invocation; per-call time = (invocation with N calls −
 * invocation with 0 calls) / N, so instantiation and the invocation itself are not counted. The
 * peers run the same N statements from Node: `direct` (one statement as the owner: no transaction,
 * no RLS) and `rls` (Database.query: the transaction with role and claims that db_query runs).
 * Those are means per invocation, so every slow call counts; the host function is also timed on
 * entry and exit, which gives the bridge call by call (answer → the guest's next request).
 *
 * Then isolation.ts: another function's latency while one runs slow statements, per PGlite mode.
 *
 *   bash scripts/run-bench.sh db-query          BENCH_ROUNDS=60 BENCH_CALLS=100 to change the run
 *                                               BENCH_PGLITE=thread, main or main,thread (the order); BENCH_ISOLATION=0 none
 */
import { randomUUID } from 'node:crypto';
import type { RlsContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { createInMemoryFunctions, createInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createHostFunctions } from '../../src/wasm/host/index.js';
import { watToWasm } from '../../test/fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../../test/fixtures/wasm/wat-parts.js';
import { measureIsolation } from './isolation.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 60);
const calls = Number(process.env['BENCH_CALLS'] ?? 100);
const pgUrl = process.env['AEROFN_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:54329/postgres';

// Input `[count,request]`: calls db_query `count` times with the request bytes, returns the last answer.
const loopWat = `
(module
  (import "aerodb" "db_query" (func $db_query (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  ${bumpAllocator(1024)}
  (func (export "handler") (param $ptr i32) (param $len i32) (result i64)
    (local $count i32) (local $i i32) (local $start i32) (local $out i64)
    (local.set $i (i32.add (local.get $ptr) (i32.const 1)))
    (block $done (loop $digits
      (br_if $done (i32.eq (i32.load8_u (local.get $i)) (i32.const 44)))
      (local.set $count (i32.add (i32.mul (local.get $count) (i32.const 10)) (i32.sub (i32.load8_u (local.get $i)) (i32.const 48))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $digits)))
    (local.set $start (i32.add (local.get $i) (i32.const 1)))
    (local.set $len (i32.sub (i32.sub (i32.add (local.get $ptr) (local.get $len)) (local.get $start)) (i32.const 1)))
    (local.set $out (i64.const 0))
    (block $end (loop $calls
      (br_if $end (i32.eqz (local.get $count)))
      (local.set $out (call $db_query (local.get $start) (local.get $len)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $calls)))
    (local.get $out)))`;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;

/**
 * `unprepared` is the same engine with AEROFN_DATABASE_PREPARED_STATEMENTS=0 (a second PGlite with
 * the same schema, or a second pool on the same PostgreSQL database): what db_query's own statement
 * cost before statements were prepared, side by side.
 */
async function measure(db: Database, label: string, unprepared: Database, sharesSchema: boolean): Promise<void> {
  // PGlite on its own thread: guests' db_query goes to it from the sandbox worker, as `serve` runs it.
  const direct = db.guestChannels !== undefined;
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const user = randomUUID();
  const rls: RlsContext = { role: 'authenticated', sub: user, claims: { role: 'authenticated', sub: user } };
  const setup = `
    create schema ${schema};
    grant usage on schema ${schema} to authenticated;
    create table ${schema}.notes (id int primary key, owner uuid not null, body text not null);
    alter table ${schema}.notes enable row level security;
    create policy own on ${schema}.notes for select to authenticated using (owner = auth.uid());
    grant select on ${schema}.notes to authenticated;
    insert into ${schema}.notes select g, '${user}', 'note ' || g from generate_series(1, 1000) g;
  `;
  await db.adminScript(setup);
  if (!sharesSchema) await unprepared.adminScript(setup);
  const sql = `select id, body from ${schema}.notes where id = $1`;
  const params = [42];

  const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
  const functions = createInMemoryFunctions(config.defaults);
  const hostFunctions = createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, environment: {} });
  // Per call: when the host function was entered and left (main thread), so the time from one
  // answer to the guest's next request — the bridge both ways plus the guest's loop — is seen
  // call by call, not only as a mean per invocation.
  const dbQuery = hostFunctions.db_query!;
  let entered: number[] = [];
  let left: number[] = [];
  hostFunctions.db_query = async (request, context) => {
    entered.push(performance.now());
    const answer = await dbQuery(request, context);
    left.push(performance.now());
    return answer;
  };
  const invoker = createInvoker({ functions, hostFunctions, ...(direct ? { guestChannels: db.guestChannels } : {}), config, logger: silentLogger() });
  await functions.deploy('loop', await watToWasm(loopWat, 'db-query-loop.wat'), { config: { timeoutMs: 60_000 } });
  await invoker.ready();
  const request = JSON.stringify({ sql, params });
  // Time inside the host function per call (the journal's durationMs): the rest of a guest call is the bridge.
  const inHost: number[] = [];
  const gaps: number[] = [];
  const spans: number[] = [];
  const invoke = async (count: number): Promise<number> => {
    entered = [];
    left = [];
    const began = performance.now();
    const record = await invoker.invoke({ functionName: 'loop', payload: `[${count},${request}]`, trigger: 'http', rls });
    const took = performance.now() - began;
    if (!record.outcome.ok) throw new Error(`guest failed: ${JSON.stringify(record.outcome.error)}`);
    if (count > 0 && !record.outcome.output.includes('"note 42"')) throw new Error(`unexpected answer ${record.outcome.output}`);
    if (count > 0) inHost.push(record.journal.reduce((sum, entry) => sum + (entry.fn === 'db_query' ? entry.durationMs : 0), 0) / count);
    for (let i = 0; i + 1 < entered.length; i += 1) gaps.push((entered[i + 1] as number) - (left[i] as number));
    for (let i = 0; i < left.length; i += 1) spans.push((left[i] as number) - (entered[i] as number));
    // Direct to the PGlite thread: the worker's own time for each call (request posted → answer read).
    if (direct) for (const entry of record.journal) if (entry.fn === 'db_query') spans.push(entry.durationMs);
    return took;
  };
  // Each call of the peers is timed too, for the call-by-call comparison.
  const directCalls: number[] = [];
  const rlsCalls: number[] = [];
  const timed = async (into: number[], call: () => Promise<unknown>): Promise<void> => {
    const began = performance.now();
    await call();
    into.push(performance.now() - began);
  };
  const owner = async (): Promise<number> => {
    const began = performance.now();
    for (let i = 0; i < calls; i += 1) await timed(directCalls, () => db.admin(sql, params));
    return (performance.now() - began) / calls;
  };
  const viaRls = async (): Promise<number> => {
    const began = performance.now();
    for (let i = 0; i < calls; i += 1) await db.query(sql, params, rls);
    return (performance.now() - began) / calls;
  };
  // Exactly what the db_query host function runs: with the invocation's abort signal and deadline
  // (the deadline becomes a statement_timeout in the session setup).
  const controller = new AbortController();
  const viaRlsDeadline = async (): Promise<number> => {
    const began = performance.now();
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < calls; i += 1) await timed(rlsCalls, () => db.query(sql, params, rls, { signal: controller.signal, deadline, triggerDepth: 0 }));
    return (performance.now() - began) / calls;
  };

  const unpreparedCalls: number[] = [];
  const viaRlsUnprepared = async (): Promise<number> => {
    const began = performance.now();
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < calls; i += 1) await timed(unpreparedCalls, () => unprepared.query(sql, params, rls, { signal: controller.signal, deadline, triggerDepth: 0 }));
    return (performance.now() - began) / calls;
  };

  for (let i = 0; i < 5; i += 1) {
    await invoke(calls);
    await invoke(0);
    await owner();
    await viaRls();
    await viaRlsDeadline();
    await viaRlsUnprepared();
  }
  for (const series of [gaps, spans, directCalls, rlsCalls, unpreparedCalls]) series.length = 0;
  const guest: number[] = [];
  const directs: number[] = [];
  const rlss: number[] = [];
  const deadlines: number[] = [];
  // Interleaved, so drift and the other tenants of the machine hit every series alike.
  for (let round = 0; round < rounds; round += 1) {
    const empty = await invoke(0);
    const full = await invoke(calls);
    guest.push((full - empty) / calls);
    directs.push(await owner());
    rlss.push(await viaRls());
    deadlines.push(await viaRlsDeadline());
    await viaRlsUnprepared();
  }
  await invoker.close();
  await db.adminScript(`drop schema ${schema} cascade`);
  if (!sharesSchema) await unprepared.adminScript(`drop schema ${schema} cascade`);

  const g = percentile(guest, 50);
  const d = percentile(directs, 50);
  const r = percentile(rlss, 50);
  const rd = percentile(deadlines, 50);
  console.log(`\n${label}: ${rounds} rounds × ${calls} calls, p50 per call`);
  console.log(`  direct statement from Node (owner, no transaction)  ${us(d)}`);
  console.log(`  Database.query from Node (RLS transaction)          ${us(r)}   ${(r / d).toFixed(2)}× direct`);
  console.log(`  Database.query with signal + deadline (as db_query) ${us(rd)}   ${(rd / d).toFixed(2)}× direct`);
  console.log(`  db_query from a wasm guest                          ${us(g)}   ${(g / d).toFixed(2)}× direct`);
  console.log(`  overhead p50: guest vs direct ${us(g - d)}; guest vs Database.query (host-call bridge alone) ${us(g - r)}`);
  console.log(`  host-call bridge alone vs the identical Database.query (signal + deadline): p50 ${us(g - rd)}`);
  const h = percentile(inHost, 50);
  console.log(`  inside the db_query host function (journal)        ${us(h)}; guest call minus that (the bridge proper) p50 ${us(g - h)}`);
  console.log(`  overhead p90: guest vs direct ${us(percentile(guest, 90) - percentile(directs, 90))}`);
  // Call by call (not means per invocation): the host function's own time, and everything else of a call.
  const span = percentile(spans, 50);
  const gap = percentile(gaps, 50);
  const rlsCall = percentile(rlsCalls, 50);
  const directCall = percentile(directCalls, 50);
  if (direct) {
    // No host function on the main thread: the sandbox worker asks the PGlite thread itself.
    console.log(`  call by call p50: direct ${us(directCall)}; Database.query (signal + deadline) ${us(rlsCall)}; db_query in the worker (posted → answer) ${us(span)}`);
    console.log(`  call by call p50: Database.query with statements not prepared (AEROFN_DATABASE_PREPARED_STATEMENTS=0) ${us(percentile(unpreparedCalls, 50))}`);
    console.log(`  (a) overhead above the identical Database.query from Node: per invocation p50 ${us(g - rd)}; call by call (worker's wait − Database.query) ${us(span - rlsCall)}`);
    return;
  }
  console.log(`  call by call p50: direct ${us(directCall)}; Database.query (signal + deadline) ${us(rlsCall)}; db_query host function ${us(span)}; answer → next request ${us(gap)} (p90 ${us(percentile(gaps, 90))})`);
  console.log(`  call by call p50: Database.query with statements not prepared (AEROFN_DATABASE_PREPARED_STATEMENTS=0) ${us(percentile(unpreparedCalls, 50))}`);
  console.log(`  call by call: (a) bridge = (answer → next request) + (host function − Database.query) ${us(gap + span - rlsCall)}; (b) guest − direct ${us(gap + span - directCall)}`);
}

// PGlite as `serve` runs it (on a thread of its own, guests' db_query straight to it), then on the
// main thread (AEROFN_PGLITE_THREAD=false), side by side. BENCH_PGLITE=thread or =main runs one.
// BENCH_PGLITE=main,thread measures the main thread first (drift within a run favours neither).
const pgliteModes = (process.env['BENCH_PGLITE'] ?? 'thread,main').split(',');
for (const pgliteThread of pgliteModes.map((mode) => mode === 'thread')) {
  const open = (preparedStatements?: number): Promise<Database> =>
    openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread, ...(preparedStatements === undefined ? {} : { preparedStatements }) } }, dataDir: '', inMemory: true, logger: silentLogger() });
  const pglite = await open();
  const pgliteUnprepared = await open(0);
  await measure(pglite, pgliteThread ? 'PGlite (its own thread; guests ask it directly)' : 'PGlite (on the main thread)', pgliteUnprepared, false);
  await Promise.all([pglite.close(), pgliteUnprepared.close()]);
}

if (process.env['BENCH_ISOLATION'] !== '0') await measureIsolation(await watToWasm(loopWat, 'db-query-loop.wat'));

let postgres: Database | undefined;
let postgresUnprepared: Database | undefined;
try {
  postgres = await openDatabase({ config: { database: { url: pgUrl, poolSize: 1 } }, dataDir: '', logger: silentLogger() });
  postgresUnprepared = await openDatabase({ config: { database: { url: pgUrl, poolSize: 1, preparedStatements: 0 } }, dataDir: '', logger: silentLogger() });
} catch (error) {
  console.log(`\nPostgreSQL skipped: ${(error as Error).message} (start it with: bash scripts/postgres.sh up)`);
}
if (postgres !== undefined && postgresUnprepared !== undefined) {
  await measure(postgres, `PostgreSQL (${new URL(pgUrl).host}, one pooled connection)`, postgresUnprepared, true);
}
await Promise.all([postgres?.close(), postgresUnprepared?.close()]);
