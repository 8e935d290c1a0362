import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { serviceRoleContext, type RlsContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database } from '../../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createHostFunctions } from '../../../src/wasm/host/index.js';
import { dbCall, proxyWasm } from '../host/guest-proxy.js';

/**
 * PGlite on a thread of its own (the embedded default, docs/database.md): what the thread is for
 * (the event loop keeps turning while a statement runs), and the edges of its channels — answers
 * and requests too big for a channel, transactions, guests' calls after the database closed.
 */
const openPglite = (pgliteThread: boolean): Promise<Database> =>
  openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread } }, dataDir: '', inMemory: true, logger: silentLogger() });

/** How often a 5 ms interval fired while `work` ran. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

function rowsOf(record: InvocationRecord): Array<Record<string, unknown>> {
  assert.equal(record.outcome.ok, true, JSON.stringify(record.outcome));
  return record.outcome.ok ? (JSON.parse(record.outcome.output) as { rows: Array<Record<string, unknown>> }).rows : [];
}

describe('PGlite on its own thread', () => {
  let db: Database;
  let invoker: SandboxInvoker;
  const user = randomUUID();
  const asUser: RlsContext = { role: 'authenticated', sub: user, claims: { role: 'authenticated', sub: user } };

  before(async () => {
    db = await openPglite(true);
    const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
    const functions = createInMemoryFunctions(config.defaults);
    const hostFunctions = createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, environment: {} });
    invoker = createInvoker({ functions, hostFunctions, guestChannels: db.guestChannels!, config, logger: silentLogger() });
    await functions.deploy('proxy', await proxyWasm());
    await invoker.ready();
  });
  after(async () => {
    await invoker.close();
    await db.close();
  });

  it('keeps the event loop turning while a slow statement runs (on the main thread it stops)', async () => {
    const ticks = await ticksDuring(() => db.query('select pg_sleep(0.4)', [], serviceRoleContext));
    assert.ok(ticks >= 30, `a 5 ms timer fired ${ticks} times during a 400 ms statement`);
    const inProcess = await openPglite(false);
    try {
      const blocked = await ticksDuring(() => inProcess.query('select pg_sleep(0.4)', [], serviceRoleContext));
      assert.ok(blocked <= 5, `on the main thread the timer fired ${blocked} times`);
    } finally {
      await inProcess.close();
    }
  });

  it('carries answers and requests larger than a channel, from Node and from a guest', async () => {
    const big = 'x'.repeat(400_000);
    const { rows } = await db.query('select length($1::text) as n, $1::text as echo', [big], serviceRoleContext);
    assert.equal(rows[0]?.['n'], 400_000);
    assert.equal(rows[0]?.['echo'], big);
    const fromGuest = rowsOf(await invoker.invoke({ functionName: 'proxy', payload: dbCall("select repeat('y', 300000) as y, length($1::text) as n", [big]), trigger: 'http', rls: asUser }));
    assert.equal(fromGuest[0]?.['n'], 400_000);
    assert.equal((fromGuest[0]?.['y'] as string).length, 300_000);
  });

  it('runs an owner transaction alone: other statements wait for it, and a throw rolls it back', async () => {
    await db.adminScript('create table ledger (n int); grant select on ledger to service_role;');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.adminTransaction(async (tx) => {
      await tx.query('insert into ledger values (1)');
      await held;
      await tx.query('insert into ledger values (2)');
    });
    // Queued behind the transaction: it sees both rows or none, never one.
    const reader = db.query('select count(*)::int as n from ledger', [], serviceRoleContext);
    setTimeout(release, 50);
    await transaction;
    assert.equal((await reader).rows[0]?.['n'], 2);
    await assert.rejects(
      db.adminTransaction(async (tx) => {
        await tx.query('insert into ledger values (3)');
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal((await db.admin('select count(*)::int as n from ledger')).rows[0]?.['n'], 2);
  });

  it("rolls back a write past the answer cap that the main thread sends to the thread (the cap travels with the call)", async () => {
    await db.adminScript('create table capped (body text); grant select, insert on capped to service_role;');
    const cap = { maxAnswerBytes: 4096 };
    await assert.rejects(
      db.query("insert into capped select repeat('x', 100) from generate_series(1, 100) returning body", [], serviceRoleContext, cap),
      (error: Error & { code?: string }) => error.code === '54000' && /rolled back: nothing it wrote was kept/.test(error.message),
    );
    assert.equal((await db.admin('select count(*)::int as n from capped')).rows[0]?.['n'], 0);
    assert.equal((await db.query("insert into capped select repeat('x', 100) from generate_series(1, 10) returning body", [], serviceRoleContext, cap)).rowCount, 10);
    assert.equal((await db.admin('select count(*)::int as n from capped')).rows[0]?.['n'], 10);
  });

  it('answers a guest whose database has closed with a HostFunctionError, and Node with an error', async () => {
    const closing = await openPglite(true);
    const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
    const functions = createInMemoryFunctions(config.defaults);
    const alone = createInvoker({ functions, guestChannels: closing.guestChannels!, config, logger: silentLogger() });
    try {
      await functions.deploy('proxy', await proxyWasm());
      await alone.ready();
      assert.deepEqual(rowsOf(await alone.invoke({ functionName: 'proxy', payload: dbCall('select 1 as one'), trigger: 'http', rls: asUser })), [{ one: 1 }]);
      await closing.close();
      const record = await alone.invoke({ functionName: 'proxy', payload: dbCall('select 1 as one'), trigger: 'http', rls: asUser });
      assert.equal(record.outcome.ok, false);
      if (!record.outcome.ok) {
        assert.equal(record.outcome.error.kind, 'HostFunctionError');
        assert.match(record.outcome.error.message, /database thread has stopped/);
      }
      await assert.rejects(closing.admin('select 1'), /PGlite thread/);
    } finally {
      await alone.close();
    }
  });
});
