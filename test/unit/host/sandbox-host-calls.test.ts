import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RlsContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database } from '../../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createHostFunctions } from '../../../src/wasm/host/index.js';
import { dbCall, envCall, fetchCall, proxyWasm } from './guest-proxy.js';
import { notesSchemaSql } from './notes-schema.js';

const userA = randomUUID();
const userB = randomUUID();
const asA: RlsContext = { role: 'authenticated', sub: userA, claims: { role: 'authenticated', sub: userA } };
const asB: RlsContext = { role: 'authenticated', sub: userB, claims: { role: 'authenticated', sub: userB } };
const asService: RlsContext = { role: 'service_role', sub: null, claims: { role: 'service_role' } };

function output(record: InvocationRecord): unknown {
  assert.equal(record.outcome.ok, true, JSON.stringify(record.outcome));
  return record.outcome.ok ? JSON.parse(record.outcome.output) : undefined;
}

// PGlite on its own thread, as `serve` runs it: guests' db_query goes from the sandbox worker
// straight to the PGlite thread. Then through the db_query host function on the main thread
// (PGlite on the main thread, AEROFN_PGLITE_THREAD=false). Both must behave the same.
for (const direct of [true, false]) {
  describe(`host functions through the real sandbox (WAT guest, PGlite, db_query ${direct ? 'straight to the PGlite thread' : 'through the main thread'})`, () => {
    let db: Database;
    let invoker: SandboxInvoker;
    let server: Server;
    let port = 0;
    const schema = `e2e_${randomBytes(4).toString('hex')}`;
    const maxAnswerBytes = 64 * 1024;

    before(async () => {
      db = await openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread: direct, queryMaxAnswerBytes: maxAnswerBytes } }, dataDir: '', inMemory: true, logger: silentLogger() });
      assert.equal(db.guestChannels !== undefined, direct);
      await db.adminScript(notesSchemaSql(schema, userA, userB));
      server = createServer((_req, res) => res.end(JSON.stringify({ hello: 'from loopback' })));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;

      const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
      const functions = createInMemoryFunctions(config.defaults);
      const hostFunctions = createHostFunctions({ database: db, httpFetchMaxResponseBytes: 4096, dbQueryMaxAnswerBytes: maxAnswerBytes, environment: { REGION: '"eu"' }, secretsFor: () => ({ API_KEY: '4242424242' }) });
      invoker = createInvoker({ functions, hostFunctions, ...(direct ? { guestChannels: db.guestChannels } : {}), config, logger: silentLogger() });
      const wasm = await proxyWasm();
      await functions.deploy('proxy', wasm, { config: { allowedHosts: ['127.0.0.1'], allowedEnv: ['API_KEY', 'REGION'] } });
      await functions.deploy('proxy-closed', wasm, { config: { allowedHosts: ['example.com'], allowedEnv: [] } });
      await functions.deploy('proxy-short', wasm, { config: { timeoutMs: 300 } });
      await invoker.ready();
    });
    after(async () => {
      await invoker.close();
      await db.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const invoke = (functionName: string, payload: string, rls: RlsContext = asService) =>
      invoker.invoke({ functionName, payload, trigger: 'http', rls });

    it('answers a statement whose answer is past AEROFN_DB_QUERY_MAX_ANSWER_BYTES with 54000, which the guest can read', async () => {
      const hostile = output(await invoke('proxy', dbCall("select repeat('x', 1000) as filler from generate_series(1, 200)"))) as { error: { code: string; message: string } };
      assert.equal(hostile.error.code, '54000');
      assert.match(hostile.error.message, /larger than AEROFN_DB_QUERY_MAX_ANSWER_BYTES \(65536 bytes\)/);
      // Under the cap the rows come back, on the same connection and thread.
      assert.equal((output(await invoke('proxy', dbCall("select repeat('x', 1000) as filler from generate_series(1, 50)"))) as { rowCount: number }).rowCount, 50);
    });

    it('rolls back a write whose answer is past the cap: the guest reads 54000 and no row is kept; under the cap it commits', async () => {
      const count = async (): Promise<unknown> => (await db.admin(`select count(*)::int as n from ${schema}.notes where body like 'cap-%'`)).rows[0]?.['n'];
      const write = (rows: number) => dbCall(`insert into ${schema}.notes (owner, body) select $1, 'cap-' || repeat('x', 1000) from generate_series(1, ${rows}) returning body`, [userA]);
      try {
        const refused = output(await invoke('proxy', write(200), asA)) as { error: { code: string; message: string } };
        assert.equal(refused.error.code, '54000');
        assert.match(refused.error.message, /rolled back: nothing it wrote was kept/);
        assert.equal(await count(), 0);
        assert.equal((output(await invoke('proxy', write(20), asA)) as { rowCount: number }).rowCount, 20);
        assert.equal(await count(), 20);
      } finally {
        await db.admin(`delete from ${schema}.notes where body like 'cap-%'`);
      }
    });

    it('runs db_query as the caller: A and B each see only their own rows, the service role sees both', async () => {
      assert.deepEqual(output(await invoke('proxy', dbCall(`select body from ${schema}.notes order by id`), asA)), { rows: [{ body: 'a1' }], rowCount: 1 });
      assert.deepEqual(output(await invoke('proxy', dbCall(`select body from ${schema}.notes order by id`), asB)), { rows: [{ body: 'b1' }], rowCount: 1 });
      assert.equal((output(await invoke('proxy', dbCall(`select body from ${schema}.notes`))) as { rowCount: number }).rowCount, 2);
    });

    it("answers A's attempt to insert B's row with the SQL error, and a trap after it is a HostFunctionError", async () => {
      const insert = dbCall(`insert into ${schema}.notes (owner, body) values ($1, 'forged')`, [userB]);
      const answer = output(await invoke('proxy', insert, asA)) as { error: { code: string; message: string } };
      assert.equal(answer.error.code, '42501');
      const trapped = await invoke('proxy', dbCall(`insert into ${schema}.notes (owner, body) values ($1, 'forged')`, [userB], true), asA);
      assert.equal(trapped.outcome.ok, false);
      if (!trapped.outcome.ok) assert.equal(trapped.outcome.error.kind, 'HostFunctionError');
      assert.equal((await db.admin(`select count(*)::int as n from ${schema}.notes where body = 'forged'`)).rows[0]?.['n'], 0);
    });

    it('fetches from a listed loopback IP and is refused an unlisted host', async () => {
      const ok = output(await invoke('proxy', fetchCall({ url: `http://127.0.0.1:${port}/` }))) as { status: number; body: string };
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body), { hello: 'from loopback' });
      const refused = output(await invoke('proxy-closed', fetchCall({ url: `http://127.0.0.1:${port}/` }))) as { error: { message: string } };
      assert.match(refused.error.message, /allowedHosts/);
    });

    it('reads listed env keys (secrets first), unlisted ones as unset, and journals no value', async () => {
      const record = await invoke('proxy', envCall('API_KEY'));
      assert.equal(output(record), 4242424242);
      const entry = record.journal.find((call) => call.fn === 'env');
      assert.equal(entry?.response, '[redacted]');
      // (The guest chose to return it as its output; the host itself records no value.)
      assert.ok(!JSON.stringify(record.journal).includes('4242424242'), 'the secret is nowhere in the journal');
      assert.equal(output(await invoke('proxy', envCall('REGION'))), 'eu');
      assert.equal(output(await invoke('proxy-closed', envCall('API_KEY'))), null);
    });

    it('ends a query that outlives the invocation as Timeout and keeps none of its work', async () => {
      const record = await invoke('proxy-short', dbCall(`insert into ${schema}.notes (owner, body) select $1, 'late' from pg_sleep(0.6)`, [userA]), asA);
      // Normally the sandbox's timer ends the invocation first; should the host's own deadline check
      // answer first, the guest sees 57014. Either way nothing of the statement is kept.
      if (record.outcome.ok) assert.equal((JSON.parse(record.outcome.output) as { error: { code: string } }).error.code, '57014');
      else assert.equal(record.outcome.error.kind, 'Timeout');
      assert.equal((await db.admin(`select count(*)::int as n from ${schema}.notes where body = 'late'`)).rows[0]?.['n'], 0);
    });
  });
}
