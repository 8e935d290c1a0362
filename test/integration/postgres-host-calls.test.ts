import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { RlsContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createHostFunctions } from '../../src/wasm/host/index.js';
import { dbCall, proxyWasm } from '../unit/host/guest-proxy.js';
import { testDatabaseUrl } from './postgres-test-db.js';
import { notesSchemaSql } from '../unit/host/notes-schema.js';

const userA = randomUUID();
const userB = randomUUID();
const asA: RlsContext = { role: 'authenticated', sub: userA, claims: { role: 'authenticated', sub: userA } };
const asService: RlsContext = { role: 'service_role', sub: null, claims: { role: 'service_role' } };

function answer(record: InvocationRecord): Record<string, unknown> {
  assert.equal(record.outcome.ok, true, JSON.stringify(record.outcome));
  return record.outcome.ok ? (JSON.parse(record.outcome.output) as Record<string, unknown>) : {};
}

describe('db_query through the real sandbox on PostgreSQL', () => {
  let db: Database;
  let invoker: SandboxInvoker;
  const schema = `pge2e_${randomBytes(4).toString('hex')}`;

  before(async () => {
    db = await openDatabase({ config: { database: { url: testDatabaseUrl, poolSize: 4 } }, dataDir: '', logger: silentLogger() });
    await db.adminScript(notesSchemaSql(schema, userA, userB));
    const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
    const functions = createInMemoryFunctions(config.defaults);
    invoker = createInvoker({ functions, hostFunctions: createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, dbQueryMaxAnswerBytes: 1024 * 1024, environment: {} }), config, logger: silentLogger() });
    const wasm = await proxyWasm();
    await functions.deploy('proxy', wasm);
    await functions.deploy('proxy-short', wasm, { config: { timeoutMs: 300 } });
    await invoker.ready();
  });
  after(async () => {
    await invoker.close();
    await db.adminScript(`drop schema ${schema} cascade`);
    await db.close();
  });

  const invoke = (functionName: string, payload: string, rls: RlsContext) => invoker.invoke({ functionName, payload, trigger: 'http', rls });

  it("keeps a function invoked as A away from B's rows; the service role reaches them", async () => {
    assert.deepEqual(answer(await invoke('proxy', dbCall(`select body from ${schema}.notes order by id`), asA)).rows, [{ body: 'a1' }]);
    assert.equal(answer(await invoke('proxy', dbCall(`update ${schema}.notes set body = 'x' where owner = $1`, [userB]), asA)).rowCount, 0);
    assert.equal(answer(await invoke('proxy', dbCall(`delete from ${schema}.notes where owner = $1`, [userB]), asA)).rowCount, 0);
    const forged = answer(await invoke('proxy', dbCall(`insert into ${schema}.notes (owner, body) values ($1, 'forged')`, [userB]), asA));
    assert.equal((forged['error'] as { code: string }).code, '42501');
    assert.equal(answer(await invoke('proxy', dbCall(`update ${schema}.notes set body = 'by service' where owner = $1`, [userB]), asService)).rowCount, 1);
  });

  it('reads a 200 MB answer past the 1 MiB cap off the socket without keeping it, and answers 54000', async () => {
    // The main thread's heap, sampled while the statement streams: without the cap pg keeps every
    // row until the statement ends (200 MB here), with it the rows past 1 MiB are dropped.
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    let record;
    try {
      record = await invoke('proxy', dbCall("select repeat('x', 10000) as filler from generate_series(1, 20000)"), asService);
    } finally {
      clearInterval(sampler);
    }
    const refused = answer(record)['error'] as { code: string; message: string };
    assert.equal(refused.code, '54000');
    assert.match(refused.message, /larger than AEROFN_DB_QUERY_MAX_ANSWER_BYTES \(1048576 bytes\)/);
    assert.ok(peak - baseline < 100 * 1024 * 1024, `the heap grew by ${Math.round((peak - baseline) / 1024 / 1024)} MB while the answer streamed`);
    // The connection goes back to the pool in a good state: the next statements run.
    for (let i = 0; i < 5; i++) assert.equal(answer(await invoke('proxy', dbCall('select 1 as one'), asService)).rowCount, 1);
  });

  it('rolls back a write whose answer is past the cap, judged on the wire and on the JSON, and commits one under it', async () => {
    const count = async (): Promise<unknown> => (await db.admin(`select count(*)::int as n from ${schema}.notes where body like 'cap-%'`)).rows[0]?.['n'];
    const refusal = (record: Awaited<ReturnType<typeof invoke>>): { code: string; message: string } => answer(record)['error'] as { code: string; message: string };
    try {
      // 2 MB of rows on the wire: dropped past 1 MiB, then rolled back.
      const wide = refusal(await invoke('proxy', dbCall(`insert into ${schema}.notes (owner, body) select $1, 'cap-' || repeat('x', 10000) from generate_series(1, 200) returning body`, [userA]), asA));
      assert.equal(wide.code, '54000');
      assert.match(wide.message, /rolled back: nothing it wrote was kept/);
      // 0.6 MB on the wire, 1.2 MB as JSON (every '"' escaped): refused by the answer the guest would read.
      const quoted = refusal(await invoke('proxy', dbCall(`insert into ${schema}.notes (owner, body) values ($1, 'cap-' || repeat('"', 600000)) returning body`, [userA]), asA));
      assert.equal(quoted.code, '54000');
      assert.match(quoted.message, /rolled back/);
      assert.equal(await count(), 0);
      // The connections stay good, and a write under the cap commits.
      for (let i = 0; i < 5; i++) assert.equal(answer(await invoke('proxy', dbCall(`insert into ${schema}.notes (owner, body) values ($1, 'cap-small') returning id`, [userA]), asA)).rowCount, 1);
      assert.equal(await count(), 5);
    } finally {
      await db.admin(`delete from ${schema}.notes where body like 'cap-%'`);
    }
  });

  it('cancels a statement at the invocation timeout and keeps none of its work', async () => {
    const started = Date.now();
    const record = await invoke('proxy-short', dbCall(`insert into ${schema}.notes (owner, body) select $1, 'late' from pg_sleep(5)`, [userA]), asA);
    // statement_timeout is the time left, so the server may cancel a hair before the sandbox's own
    // timer ends the invocation: then the guest sees 57014 instead. Either way the query is gone.
    if (record.outcome.ok) assert.equal((JSON.parse(record.outcome.output) as { error: { code: string } }).error.code, '57014');
    else assert.equal(record.outcome.error.kind, 'Timeout');
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    // The server-side statement is gone too: no backend still sleeping for this schema's insert.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const running = await db.admin("select count(*)::int as n from pg_stat_activity where query like $1 and state = 'active'", [`%${schema}.notes (owner, body) select%`]);
    assert.equal(running.rows[0]?.['n'], 0);
    assert.equal((await db.admin(`select count(*)::int as n from ${schema}.notes where body = 'late'`)).rows[0]?.['n'], 0);
  });
});
