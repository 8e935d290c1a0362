import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { RlsContext } from '../../src/auth/index.js';
import { createChangeRelay, DatabaseError, outboxIdHeader, type Database } from '../../src/db/index.js';
import type { EventLog, LogRecord } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createDbQuery } from '../../src/wasm/host/index.js';
import { callJson, hostContext } from '../unit/host/host-context.js';
import { captureWorkload } from './capture-workload.js';

const userA = randomUUID();
const userB = randomUUID();
const asA: RlsContext = { role: 'authenticated', sub: userA, claims: { role: 'authenticated', sub: userA } };
const asB: RlsContext = { role: 'authenticated', sub: userB, claims: { role: 'authenticated', sub: userB } };
const asService: RlsContext = { role: 'service_role', sub: null, claims: { role: 'service_role' } };
const asAnon: RlsContext = { role: 'anon', sub: null, claims: { role: 'anon' } };

const unique = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

async function rejectsWith(promise: Promise<unknown>, code: string | RegExp): Promise<DatabaseError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof DatabaseError, `expected a DatabaseError, got ${String(caught)}`);
  if (typeof code === 'string') assert.equal(caught.code, code, caught.message);
  else assert.match(caught.message, code);
  return caught;
}

/** A schema with a notes table guarded by an owner policy; rows of A and B already in it. */
async function notesSchema(db: Database): Promise<string> {
  const schema = unique('rls');
  await db.adminScript(`
    create schema ${schema};
    grant usage on schema ${schema} to anon, authenticated, service_role;
    create table ${schema}.notes (id bigserial primary key, owner uuid not null default auth.uid(), body text not null);
    alter table ${schema}.notes enable row level security;
    create policy notes_owner on ${schema}.notes for all to authenticated
      using (owner = auth.uid()) with check (owner = auth.uid());
    grant select, insert, update, delete on ${schema}.notes to anon, authenticated, service_role;
    grant usage on all sequences in schema ${schema} to authenticated, service_role;
    insert into ${schema}.notes (owner, body) values ('${userA}', 'a1'), ('${userB}', 'b1');
  `);
  return schema;
}

export interface DatabaseSuiteOptions {
  /** Opens a database of its own (a fresh PGlite, or a fresh PostgreSQL database) and how to drop it. */
  readonly open: () => Promise<{ db: Database; dispose: () => Promise<void> }>;
  readonly openEventLog: () => Promise<{ log: EventLog; dispose: () => Promise<void> }>;
}

export function databaseSuite(name: string, options: DatabaseSuiteOptions): void {
  describe(`Database conformance: ${name}`, () => {
    let db: Database;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await options.open());
    });
    after(async () => {
      await dispose();
    });

    it('keeps user A to A\'s rows: no reading, changing, deleting or inserting B\'s', async () => {
      const s = await notesSchema(db);
      const mine = await db.query(`select owner, body from ${s}.notes order by id`, [], asA);
      assert.deepEqual(mine.rows, [{ owner: userA, body: 'a1' }]);
      assert.equal((await db.query(`update ${s}.notes set body = 'hacked' where owner = $1`, [userB], asA)).rowCount, 0);
      assert.equal((await db.query(`delete from ${s}.notes where owner = $1`, [userB], asA)).rowCount, 0);
      await rejectsWith(db.query(`insert into ${s}.notes (owner, body) values ($1, 'forged')`, [userB], asA), '42501');
      const inserted = await db.query(`insert into ${s}.notes (body) values ($1) returning owner`, ['a2'], asA);
      assert.deepEqual(inserted.rows, [{ owner: userA }], 'auth.uid() fills the owner');
      const theirs = await db.query(`select body from ${s}.notes order by id`, [], asB);
      assert.deepEqual(theirs.rows, [{ body: 'b1' }]);
    });

    it('lets the service role read and change every row, and anon none', async () => {
      const s = await notesSchema(db);
      assert.equal((await db.query(`select * from ${s}.notes`, [], asService)).rowCount, 2);
      assert.equal((await db.query(`update ${s}.notes set body = 'by service' where owner = $1`, [userB], asService)).rowCount, 1);
      assert.equal((await db.query(`select * from ${s}.notes`, [], asAnon)).rowCount, 0);
      const helpers = await db.query('select auth.uid() as uid, auth.role() as role, auth.jwt() ->> $1 as sub', ['sub'], asB);
      assert.deepEqual(helpers.rows, [{ uid: userB, role: 'authenticated', sub: userB }]);
    });

    it('binds parameters: an injection attempt matches nothing and changes nothing', async () => {
      const s = await notesSchema(db);
      for (const attack of [`' or '1'='1`, `a1' --`, `'; drop table ${s}.notes; --`, `a1'); delete from ${s}.notes; --`]) {
        const result = await db.query(`select * from ${s}.notes where body = $1`, [attack], asService);
        assert.equal(result.rowCount, 0, attack);
      }
      assert.equal((await db.admin(`select count(*)::int as n from ${s}.notes`)).rows[0]?.['n'], 2);
    });

    it('does not let guest SQL leave its role, rewrite its claims or leave state on the connection', async () => {
      const s = await notesSchema(db);
      const attempts = [
        'reset role',
        'set role postgres',
        'set local role service_role',
        `set request.jwt.claims = '{"role":"authenticated","sub":"${userB}"}'`,
        `select set_config('request.jwt.claims', '{"role":"authenticated","sub":"${userB}"}', true)`,
        `select set_config('role', 'service_role', true)`,
        `update pg_settings set setting = 'service_role' where name = 'role'`,
        `do $$ begin execute 'set local role service_role'; end $$`,
        `select 1; select 2`,
        `commit`,
        `/* hi */ (( set role postgres ))`,
        `select 1 as x into temp table shadow`,
        `select 1 as x into public.${unique('made')}`,
        `select pg_advisory_lock(7274002)`,
      ];
      for (const sql of attempts) await assert.rejects(db.query(sql, [], asA), DatabaseError, sql);
      const escaped = await db.query(
        `with x as (select set_config('role', 'service_role', true)) select body from ${s}.notes, x`,
        [],
        asA,
      ).catch((error: unknown) => error);
      assert.ok(escaped instanceof DatabaseError, 'set_config inside a CTE is refused');
      assert.deepEqual((await db.query(`select body from ${s}.notes`, [], asA)).rows, [{ body: 'a1' }]);
    });

    it('answers a failed statement with its SQLSTATE', async () => {
      const s = await notesSchema(db);
      await rejectsWith(db.query('selec 1', [], asService), /db_query runs data statements only/);
      await rejectsWith(db.query('select from_nowhere from nowhere', [], asService), '42P01');
      await rejectsWith(db.query(`insert into ${s}.notes (id, owner, body) values (1, $1, 'dup')`, [userA], asService), '23505');
    });

    it('answers a failure at commit (a deferred constraint) and keeps nothing of the statement', async () => {
      const s = unique('deferred');
      await db.adminScript(`
        create schema ${s};
        grant usage on schema ${s} to service_role;
        create table ${s}.parent (id int primary key);
        create table ${s}.child (id int primary key, parent int references ${s}.parent (id) deferrable initially deferred);
        grant select, insert on ${s}.parent, ${s}.child to service_role;
      `);
      // The insert itself succeeds; the foreign key is checked only when the transaction commits.
      await rejectsWith(db.query(`insert into ${s}.child values (1, 99)`, [], asService), '23503');
      assert.equal((await db.admin(`select count(*)::int as n from ${s}.child`)).rows[0]?.['n'], 0);
      await db.query(`insert into ${s}.parent values (99)`, [], asService);
      await db.query(`insert into ${s}.child values (1, 99)`, [], asService);
      assert.equal((await db.admin(`select count(*)::int as n from ${s}.child`)).rows[0]?.['n'], 1);
    });

    it('runs each statement with its own caller only: no role or claims carried over between callers or after a failure', async () => {
      const s = await notesSchema(db);
      const who = `select current_user::text as role, auth.uid()::text as uid, (select count(*)::int from ${s}.notes) as visible`;
      for (let i = 0; i < 3; i += 1) {
        assert.deepEqual((await db.query(who, [], asA)).rows, [{ role: 'authenticated', uid: userA, visible: 1 }]);
        await rejectsWith(db.query('select 1/0', [], asB), '22012');
        assert.deepEqual((await db.query(who, [], asB)).rows, [{ role: 'authenticated', uid: userB, visible: 1 }]);
        assert.deepEqual((await db.query(who, [], asAnon)).rows, [{ role: 'anon', uid: null, visible: 0 }]);
        assert.deepEqual((await db.query(who, [], asService)).rows, [{ role: 'service_role', uid: null, visible: 2 }]);
      }
      const owner = (await db.admin('select current_user::text as role, current_setting($1, true) as claims', ['request.jwt.claims'])).rows[0];
      assert.notEqual(owner?.['role'], 'authenticated', 'the owner connection is back to its own role');
      assert.ok(owner?.['claims'] === null || owner?.['claims'] === '', `no claims left on the connection: ${String(owner?.['claims'])}`);
    });

    it('recovers when its prepared session setup disappears from a connection (at most one statement fails)', async () => {
      await db.query('select 1', [], asA);
      await db.admin('deallocate aerofn_session_setup').catch(() => undefined); // on PostgreSQL it may hit another pooled connection
      const first = await db.query('select auth.uid()::text as uid', [], asA).then(
        (result) => result.rows,
        (error: unknown) => error,
      );
      if (!Array.isArray(first)) assert.ok(first instanceof DatabaseError && first.code === '26000', `unexpected ${String(first)}`);
      for (let i = 0; i < 3; i += 1) assert.deepEqual((await db.query('select auth.uid()::text as uid', [], asA)).rows, [{ uid: userA }]);
    });

    it('returns the same JSON values on every adapter', async () => {
      const result = await db.query(
        "select 9007199254740993::int8 as big, 1.50::numeric as num, 7::int4 as small, true as flag, " +
          "'2024-01-02T03:04:05Z'::timestamptz as at, '\\x0102'::bytea as bytes, '{\"a\":[1,2]}'::jsonb as doc, " +
          "array[1,2]::int4[] as list, null::text as nothing, $1::text as param",
        ['p'],
        asAnon,
      );
      assert.deepEqual(result.rows, [
        { big: '9007199254740993', num: '1.50', small: 7, flag: true, at: '2024-01-02T03:04:05.000Z', bytes: '\\x0102', doc: { a: [1, 2] }, list: [1, 2], nothing: null, param: 'p' },
      ]);
    });

    it('cancels a statement that runs past the deadline and rolls its work back', async () => {
      const s = await notesSchema(db);
      // PostgreSQL stops the statement itself (well before the sleep ends); PGlite cannot interrupt
      // one, so it sleeps less there and is rolled back afterwards.
      const sleep = db.kind === 'postgres' ? 3 : 1;
      const started = Date.now();
      await rejectsWith(
        db.query(`insert into ${s}.notes (body) select 'slow' from pg_sleep($1)`, [sleep], asA, { deadline: Date.now() + 300 }),
        '57014',
      );
      if (db.kind === 'postgres') assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      assert.equal((await db.admin(`select count(*)::int as n from ${s}.notes where body = 'slow'`)).rows[0]?.['n'], 0);
      await rejectsWith(db.query('select 1', [], asA, { deadline: Date.now() - 1 }), '57014');
    });

    it('cancels a statement when the invocation is aborted', async () => {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 150);
      await rejectsWith(db.query('select pg_sleep($1)', [db.kind === 'postgres' ? 3 : 1], asA, { signal: controller.signal }), '57014');
      if (db.kind === 'postgres') assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      const aborted = new AbortController();
      aborted.abort();
      await rejectsWith(db.query('select 1', [], asA, { signal: aborted.signal }), '57014');
      assert.deepEqual((await db.query('select 1 as one', [], asA)).rows, [{ one: 1 }], 'the connection is usable afterwards');
    });

    describe('change capture', () => {
      let log: EventLog;
      let disposeLog: () => Promise<void>;
      before(async () => {
        ({ log, dispose: disposeLog } = await options.openEventLog());
      });
      after(async () => {
        await disposeLog();
      });

      async function readAll(topic: string): Promise<LogRecord[]> {
        const ends = await log.endOffsets(topic);
        const out: LogRecord[] = [];
        for (let partition = 0; partition < ends.length; partition += 1) {
          for (let offset = 0; offset < (ends[partition] ?? 0); ) {
            const batch = await log.read(topic, partition, offset, { maxRecords: 500 });
            if (batch.length === 0) break;
            out.push(...batch);
            offset = (batch[batch.length - 1] as LogRecord).offset + 1;
          }
        }
        return out;
      }
      const events = (records: LogRecord[]) => records.map((record) => JSON.parse(String(record.value)) as Record<string, unknown>);

      it('relays 1,000 inserts, updates and deletes made through db_query in commit order, once each', async () => {
        const s = unique('cap');
        const topic = unique('changes');
        const { setupSql, ops } = captureWorkload(s, 'counter');
        await db.adminScript(setupSql);
        await db.enableChangeCapture(`${s}.counter`);
        await db.enableChangeCapture(`${s}.items`);
        const dbQuery = createDbQuery({ database: db });
        const relay = createChangeRelay({ database: db, eventLog: log, topic, logger: silentLogger(), batchSize: 128, pollIntervalMs: 5 });
        relay.start(); // relaying while writers write: only committed rows may move
        const context = hostContext({ rls: asA, triggerDepth: 2, deadline: Date.now() + 120_000 });
        // Six writers at a time; each phase (inserts, updates, deletes) ends before the next starts.
        let next = 0;
        for (const phase of [[0, 400], [400, 800], [800, 1000]] as const) {
          next = phase[0];
          const stop = phase[1];
          const limited = async () => {
            while (next < stop) {
              const op = ops[next] as { sql: string; params: unknown[] };
              next += 1;
              const answer = await callJson(dbQuery, { sql: op.sql, params: op.params }, context);
              assert.equal(answer['rowCount'], 1, JSON.stringify(answer));
            }
          };
          await Promise.all(Array.from({ length: 6 }, limited));
        }
        await relay.stop();
        await relay.drain();

        const records = (await readAll(topic)).sort((a, b) => Number(a.headers[outboxIdHeader]) - Number(b.headers[outboxIdHeader]));
        const all = events(records);
        const ids = records.map((record) => Number(record.headers[outboxIdHeader]));
        assert.equal(new Set(ids).size, ids.length, 'no outbox row twice');
        const items = all.filter((event) => event['table'] === 'items');
        const counters = all.filter((event) => event['table'] === 'counter');
        assert.equal(items.length, 1000);
        assert.equal(counters.length, 1000);
        assert.deepEqual(
          counters.map((event) => (event['row'] as { n: number }).n),
          Array.from({ length: 1000 }, (_, i) => i + 1),
          'transactions appear in commit order',
        );
        // The two changes of one transaction sit next to each other.
        for (let i = 0; i < all.length; i += 2) assert.equal(all[i]?.['txId'], all[i + 1]?.['txId']);
        const byOp = (op: string) => items.filter((event) => event['op'] === op).length;
        assert.deepEqual([byOp('INSERT'), byOp('UPDATE'), byOp('DELETE')], [400, 400, 200]);
        const update = items.find((event) => event['op'] === 'UPDATE') as Record<string, unknown>;
        assert.equal((update['old'] as { v: number }).v, 0);
        assert.equal((update['row'] as { v: number }).v, 1);
        const deletedKeys = items.filter((event) => event['op'] === 'DELETE').map((event) => (event['row'] as { k: string }).k);
        assert.deepEqual(deletedKeys.sort(), Array.from({ length: 200 }, (_, i) => `k${i}`).sort(), 'a DELETE carries the deleted row');
        assert.deepEqual(update['context'], { role: 'authenticated', sub: userA, claims: { role: 'authenticated', sub: userA } });
        assert.equal(update['triggerDepth'], 3, 'a write from an invocation at depth 2 carries depth 3');
        assert.equal(update['schema'], s);
        assert.equal(typeof update['commitTs'], 'number');
        assert.equal((await db.admin('select count(*)::int as n from aerofn.change_outbox')).rows[0]?.['n'], 0, 'relayed rows leave the outbox');
      });

      it('relays a transaction that wrote first and committed later before the one that waited for it', async () => {
        const s = unique('ord');
        const topic = unique('changes');
        await db.adminScript(`
          create schema ${s};
          grant usage on schema ${s} to service_role;
          create table ${s}.t (k text primary key);
          grant select, insert on ${s}.t to service_role;
        `);
        await db.enableChangeCapture(`${s}.t`);
        let releaseFirst!: () => void;
        const firstMayCommit = new Promise<void>((resolve) => (releaseFirst = resolve));
        let firstWrote!: () => void;
        const firstHasWritten = new Promise<void>((resolve) => (firstWrote = resolve));
        const order: string[] = [];
        const first = db.adminTransaction(async (tx) => {
          await tx.query(`insert into ${s}.t values ('first')`);
          firstWrote();
          await firstMayCommit;
          order.push('first commits');
        });
        await firstHasWritten;
        const second = db.query(`insert into ${s}.t values ('second')`, [], asService).then(() => order.push('second done'));
        await new Promise((resolve) => setTimeout(resolve, 200));
        releaseFirst();
        await Promise.all([first, second]);
        assert.deepEqual(order, ['first commits', 'second done'], 'the second writer waits for the first to commit');
        const relay = createChangeRelay({ database: db, eventLog: log, topic, logger: silentLogger() });
        await relay.drain();
        const keys = events(await readAll(topic)).filter((event) => event['schema'] === s).map((event) => (event['row'] as { k: string }).k);
        assert.deepEqual(keys, ['first', 'second']);
      });

      it('does not append a change twice when the relay stopped between append and delete', async () => {
        const s = unique('dup');
        const topic = unique('changes');
        await db.adminScript(`create schema ${s}; create table ${s}.t (k int primary key);`);
        await db.enableChangeCapture(`${s}.t`);
        await db.admin(`insert into ${s}.t select g from generate_series(1, 5) g`);
        // Simulate the crash: the rows reach the log, but the outbox still holds them.
        const rows = (await db.admin('select id from aerofn.change_outbox order by id')).rows;
        const relay = createChangeRelay({ database: db, eventLog: log, topic, logger: silentLogger() });
        await relay.drain();
        const first = events(await readAll(topic));
        assert.equal(first.length, 5);
        assert.equal(first[0]?.['context'], undefined, 'a write from outside any function carries no context');
        assert.equal(first[0]?.['triggerDepth'], 0, 'and depth 0');
        await db.admin(`insert into aerofn.change_outbox (id, tx_id, schema_name, table_name, op, row_data)
          select id, 1, $1, 't', 'INSERT', jsonb_build_object('k', id) from unnest($2::bigint[]) as id`, [s, rows.map((row) => row['id'])]);
        await db.admin(`insert into ${s}.t values (6)`);
        await relay.drain();
        const keys = events(await readAll(topic)).map((event) => (event['row'] as { k: number }).k);
        assert.deepEqual(keys, [1, 2, 3, 4, 5, 6]);
        await db.disableChangeCapture(`${s}.t`);
        await db.admin(`insert into ${s}.t values (7)`);
        assert.equal((await db.admin('select count(*)::int as n from aerofn.change_outbox')).rows[0]?.['n'], 0, 'no capture once disabled');
      });

      it('keys each change by table and primary key (table alone without one), in one partition in commit order', async () => {
        const s = unique('key');
        const topic = unique('changes');
        // The composite key is declared (a, b) while the columns are (b, a, v): the key follows the
        // primary key's order. The quoted name holds a dot and the text key a quote.
        await db.adminScript(`
          create schema ${s};
          create table ${s}.one (id int primary key, v int not null);
          create table ${s}."Two.Part" (b text, a int, v int not null, primary key (a, b));
          create table ${s}.nopk (v int);
        `);
        for (const table of ['one', '"Two.Part"', 'nopk']) await db.enableChangeCapture(`${s}.${table}`);
        await db.admin(`insert into ${s}.one values (1, 0), (2, 0)`);
        await db.admin(`update ${s}.one set v = 1 where id = 1`);
        await db.admin(`insert into ${s}."Two.Part" values ('x"y', 7, 0)`);
        await db.admin(`update ${s}."Two.Part" set v = 1`);
        await db.admin(`insert into ${s}.nopk values (5)`);
        await db.admin(`delete from ${s}.one where id = 2`);
        const relay = createChangeRelay({ database: db, eventLog: log, topic, logger: silentLogger(), batchSize: 3 });
        await relay.drain();
        assert.equal(await log.partitionCount(topic), 1, 'one partition keeps commit order across rows and tables');
        const records = await readAll(topic);
        assert.deepEqual(
          records.map((record) => record.key),
          [`${s}.one:[1]`, `${s}.one:[2]`, `${s}.one:[1]`, `${s}.Two.Part:[7,"x\\"y"]`, `${s}.Two.Part:[7,"x\\"y"]`, `${s}.nopk`, `${s}.one:[2]`],
        );
        const ids = records.map((record) => Number(record.headers[outboxIdHeader]));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'log order is outbox (commit) order');
        assert.deepEqual(events(records).map((event) => event['op']), ['INSERT', 'INSERT', 'UPDATE', 'INSERT', 'UPDATE', 'INSERT', 'DELETE']);
      });
    });
  });
}
