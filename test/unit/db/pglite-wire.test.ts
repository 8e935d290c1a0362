import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, PGlite, protocol } from '@electric-sql/pglite';
import { bindMessage, describeAndExecute, lastResult } from '../../../src/db/pglite/pglite-wire.js';
import { normalizeRows } from '../../../src/db/values.js';

const { serialize } = protocol;

describe('pglite-wire: bindMessage', () => {
  it('writes the bytes of protocol.serialize.bind for any statement name and text parameters (NULLs, multi-byte UTF-8, lone surrogates)', () => {
    const value = fc.option(fc.string({ unit: 'binary', maxLength: 400 }), { nil: null });
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((name) => !name.includes('\u0000')), fc.array(value, { maxLength: 12 }), (statement, values) => {
        assert.deepEqual(Buffer.from(bindMessage(statement, values)), Buffer.from(serialize.bind({ statement, values })));
      }),
      { numRuns: 1500 },
    );
  });

  it('returns a copy: a later call does not change an earlier message (the scratch buffer is reused)', () => {
    const first = bindMessage('s1', ['a'.repeat(3000)]);
    const copy = Buffer.from(first);
    bindMessage('s2', ['b'.repeat(5000), null]);
    assert.deepEqual(Buffer.from(first), copy);
  });

  it('has Describe(portal) + Execute as the constant tail', () => {
    assert.deepEqual(Buffer.from(describeAndExecute), Buffer.concat([serialize.describe({ type: 'P' }), serialize.execute({})]));
  });
});

describe('pglite-wire: lastResult against parse.parseResults on a real PGlite', () => {
  let db: PGlite;
  before(async () => {
    db = await PGlite.create({ dataDir: 'memory://', parsers: { 20: (value: string) => value, 1700: (value: string) => value } });
    await db.exec(`create table t (id int primary key, big int8, n numeric, f float8, b bool, j jsonb, ts timestamptz, d date, raw bytea, tags text[], note text);
      insert into t values (1, 9007199254740993, 1.50, 2.5, true, '{"a":[1,2]}', '2026-11-28T03:00:00Z', '2026-11-28', '\\x00ff', '{x,y}', 'é'), (2, null, null, null, null, null, null, null, null, null, null);`);
  });
  after(async () => db.close());

  /** Runs `setupSql` then `sql` in one exchange, as db_query does, and compares the two readings. */
  async function compare(sql: string, params: (string | null)[] = []): Promise<{ rows: unknown[]; affectedRows: number }> {
    const message = Buffer.concat([
      serialize.parse({ text: "select set_config('application_name', $1, true) as setting, 1 as id" }),
      bindMessage('', ['aerofn']),
      describeAndExecute,
      serialize.parse({ text: sql }),
      bindMessage('', params),
      describeAndExecute,
      serialize.sync(),
    ]);
    const messages = await db.execProtocolStream(message, { throwOnError: false });
    const expected = parse.parseResults(messages, db.parsers).at(-1);
    const actual = lastResult(db, messages);
    assert.deepEqual(actual, { rows: normalizeRows((expected?.rows ?? []) as Record<string, unknown>[]), affectedRows: expected?.affectedRows ?? 0 });
    return actual;
  }

  it('reads every type the same way, NULLs included, and only the last result (not the setup row)', async () => {
    const { rows } = await compare('select * from t order by id');
    assert.equal(rows.length, 2);
    assert.equal((rows[0] as Record<string, unknown>)['big'], '9007199254740993');
  });

  it('keeps the later of two columns with one name, as Object.fromEntries does', async () => {
    const { rows } = await compare('select 1 as x, 2 as x, $1::text as y', ['z']);
    assert.deepEqual(rows, [{ x: 2, y: 'z' }]);
  });

  it('counts affected rows of INSERT, UPDATE and DELETE, with and without RETURNING', async () => {
    assert.equal((await compare("insert into t (id, note) values (3, 'c'), (4, 'd')")).affectedRows, 2);
    assert.equal((await compare("update t set note = 'u' where id >= $1 returning id", ['3'])).rows.length, 2);
    assert.equal((await compare('delete from t where id in (3, 4)')).affectedRows, 2);
  });

  it('after a failed statement reads what parseResults reads: the setup result (the session checks for the error first)', async () => {
    assert.deepEqual(await compare('select * from missing_table'), { rows: [{ setting: 'aerofn', id: 1 }], affectedRows: 0 });
  });
});
