import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { RlsContext } from '../../src/auth/index.js';
import { DatabaseError, type Database } from '../../src/db/index.js';

/**
 * db_query statements are prepared once per connection (src/db/prepared-statements.ts). These
 * prove that doing so changes nothing a guest can see, on every adapter: row-level security per
 * caller, tables that change shape, failures, and the bound on how many stay prepared.
 */
export interface PreparedStatementsSuiteOptions {
  /** A database of its own with one connection, keeping up to `capacity` guest statements prepared. */
  readonly open: (capacity: number) => Promise<{ db: Database; dispose: () => Promise<void> }>;
}

const user = (): RlsContext => {
  const sub = randomUUID();
  return { role: 'authenticated', sub, claims: { role: 'authenticated', sub } };
};
const asService: RlsContext = { role: 'service_role', sub: null, claims: { role: 'service_role' } };
const asAnon: RlsContext = { role: 'anon', sub: null, claims: { role: 'anon' } };
const unique = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;
const preparedCount = "select count(*)::int as n from pg_prepared_statements where name like 'aerofn\\_stmt\\_%'";

async function failsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof DatabaseError && error.code === code);
}

export function preparedStatementsSuite(name: string, options: PreparedStatementsSuiteOptions): void {
  describe(`prepared db_query statements: ${name}`, () => {
    let db: Database;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await options.open(3));
    });
    after(async () => {
      await dispose();
    });

    it('keeps every caller to its own rows when one prepared statement serves them all, past the switch to a generic plan', async () => {
      const [a, b] = [user(), user()];
      const s = unique('prep');
      await db.adminScript(`
        create schema ${s};
        grant usage on schema ${s} to anon, authenticated, service_role;
        create table ${s}.notes (id int primary key, owner uuid not null, body text not null);
        alter table ${s}.notes enable row level security;
        create policy own on ${s}.notes for select to authenticated using (owner = auth.uid());
        grant select on ${s}.notes to anon, authenticated, service_role;
        insert into ${s}.notes values (1, '${a.sub}', 'a1'), (2, '${b.sub}', 'b1'), (3, '${a.sub}', 'a2');
      `);
      const sql = `select body from ${s}.notes where id >= $1 order by id`;
      const bodies = async (rls: RlsContext): Promise<unknown[]> => (await db.query(sql, [1], rls)).rows.map((row) => row['body']);
      // PostgreSQL tries custom plans five times before it may settle on a generic one.
      for (let i = 0; i < 7; i += 1) assert.deepEqual(await bodies(a), ['a1', 'a2']);
      for (let i = 0; i < 7; i += 1) assert.deepEqual(await bodies(b), ['b1']);
      for (let i = 0; i < 3; i += 1) {
        assert.deepEqual(await bodies(asService), ['a1', 'b1', 'a2']);
        assert.deepEqual(await bodies(asAnon), []);
        assert.deepEqual(await bodies(a), ['a1', 'a2']);
        assert.deepEqual(await bodies(b), ['b1']);
      }
    });

    it('runs a prepared statement again after its table changed shape', async () => {
      const s = unique('shape');
      await db.adminScript(`
        create schema ${s};
        grant usage on schema ${s} to service_role;
        create table ${s}.t (id int primary key, body text);
        grant select on ${s}.t to service_role;
        insert into ${s}.t values (1, 'x');
      `);
      const sql = `select * from ${s}.t where id = $1`;
      assert.deepEqual((await db.query(sql, [1], asService)).rows, [{ id: 1, body: 'x' }]);
      await db.adminScript(`alter table ${s}.t add column extra text default 'e'`);
      assert.deepEqual((await db.query(sql, [1], asService)).rows, [{ id: 1, body: 'x', extra: 'e' }]);
      await db.adminScript(`alter table ${s}.t drop column body`);
      assert.deepEqual((await db.query(sql, [1], asService)).rows, [{ id: 1, extra: 'e' }]);
    });

    it('answers a statement that fails to parse or to run the same way every time, and runs the next one', async () => {
      for (let i = 0; i < 2; i += 1) await failsWith(db.query('select 1 from', [], asAnon), '42601');
      for (let i = 0; i < 2; i += 1) {
        await failsWith(db.query('select 10 / $1::int as q', [0], asAnon), '22012');
        assert.deepEqual((await db.query('select 10 / $1::int as q', [5], asAnon)).rows, [{ q: 2 }]);
      }
    });

    it('keeps at most its capacity of statements prepared on a connection, the least recently used closed first', async () => {
      for (let i = 0; i < 10; i += 1) assert.deepEqual((await db.query(`select ${i} as n`, [], asAnon)).rows, [{ n: i }]);
      // The count itself is one of the three.
      assert.deepEqual((await db.query(preparedCount, [], asAnon)).rows, [{ n: 3 }]);
      assert.deepEqual((await db.query('select 0 as n', [], asAnon)).rows, [{ n: 0 }], 'an evicted statement is parsed again');
      assert.deepEqual((await db.query(preparedCount, [], asAnon)).rows, [{ n: 3 }]);
    });

    it('prepares nothing when its capacity is 0', async () => {
      const off = await options.open(0);
      try {
        for (let i = 0; i < 3; i += 1) await off.db.query('select 1 as one', [], asAnon);
        assert.deepEqual((await off.db.query(preparedCount, [], asAnon)).rows, [{ n: 0 }]);
      } finally {
        await off.dispose();
      }
    });
  });
}
