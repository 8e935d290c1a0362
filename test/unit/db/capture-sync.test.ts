import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCaptureSync, openDatabase, type CaptureSource, type Database } from '../../../src/db/index.js';
import { silentLogger } from '../../../src/observability/index.js';

const fn = (name: string, tables: string[], enabled = true): CaptureSource => ({
  name,
  enabled,
  triggers: [{ type: 'http' }, ...tables.map((table) => ({ type: 'database' as const, table, operations: ['INSERT' as const] }))],
});

describe('change capture follows the deployed database triggers', () => {
  let db: Database;
  before(async () => {
    db = await openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir: '', inMemory: true, logger: silentLogger() });
    await db.adminScript('create schema app; create table public.orders (id int primary key); create table app.items (id int primary key); create table public.other (id int);');
  });
  after(async () => {
    await db.close();
  });
  const captured = async (): Promise<string[]> =>
    (await db.admin("select c.relnamespace::regnamespace::text || '.' || c.relname as t from pg_trigger g join pg_class c on c.oid = g.tgrelid where g.tgname = 'aerofn_capture' order by 1")).rows.map((row) => String(row['t']));

  it('captures the tables of enabled functions, releases them when no function needs them, and retries missing ones', async () => {
    const sync = createCaptureSync({ database: db, logger: silentLogger() });
    const first = await sync.sync([fn('a', ['orders', 'app.items']), fn('b', ['orders']), fn('c', ['other'], false), fn('d', ['not_yet'])]);
    assert.deepEqual(first.enabled.sort(), ['app.items', 'public.orders']);
    assert.deepEqual(first.failed, ['public.not_yet']);
    assert.deepEqual(await captured(), ['app.items', 'public.orders']);

    await db.admin('insert into public.orders values (1)');
    assert.equal((await db.admin('select count(*)::int as n from aerofn.change_outbox')).rows[0]?.['n'], 1);

    await db.adminScript('create table public.not_yet (id int)');
    const second = await sync.sync([fn('b', ['orders']), fn('d', ['not_yet'])]);
    assert.deepEqual(second, { enabled: ['public.not_yet'], disabled: ['app.items'], failed: [] });
    assert.deepEqual(await captured(), ['public.not_yet', 'public.orders']);
    assert.deepEqual(await sync.sync([fn('b', ['orders']), fn('d', ['not_yet'])]), { enabled: [], disabled: [], failed: [] });
  });
});
