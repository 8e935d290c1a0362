import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkGuestStatement, DatabaseError, qualifiedTable } from '../../../src/db/index.js';
import { mayWriteAndAnswer } from '../../../src/db/sql-guard.js';

describe('guest statement guard', () => {
  it('lets data statements through, after comments and parentheses', () => {
    for (const sql of ['select 1', '  SELECT 1', '-- note\nselect 1', '/* a /* nested */ b */ insert into t values (1)', '((select 1))', 'with x as (select 1) select * from x', 'update t set a = 1', 'delete from t', 'values (1)', 'table t', 'merge into t using s on true when matched then do nothing']) {
      assert.doesNotThrow(() => checkGuestStatement(sql), sql);
    }
  });

  it('refuses session, transaction and schema statements with a hint', () => {
    for (const sql of ['set role postgres', 'RESET ROLE', 'do $$ begin end $$', 'begin', 'commit', 'create table x (a int)', 'drop table t', 'grant all on t to anon', 'copy t to stdout', 'call p()', 'listen x', '/* select */ set role postgres', 'explain analyze delete from t', '', '   ', '-- only a comment']) {
      assert.throws(() => checkGuestStatement(sql), (error: unknown) => error instanceof DatabaseError && error.code !== undefined, sql);
    }
  });

  it('tells the statements that may write and answer rows (judged before their commit under the answer cap) from the rest', () => {
    for (const sql of ['insert into t values (1) returning id', ' UPDATE t set a = 1 RETURNING *', '/* x */ delete from t returning a', 'merge into t using s on true when matched then delete returning *', 'with x as (insert into t values (1) returning *) select * from x', 'with d as (delete from t) select 1']) {
      assert.equal(mayWriteAndAnswer(sql), true, sql);
    }
    for (const sql of ['insert into t values (1)', 'update t set a = 1', 'select 1', '-- insert\nselect 1 as returning', '((select 1))', 'with x as (select 1) select * from x', 'values (1)', 'table t', '']) {
      assert.equal(mayWriteAndAnswer(sql), false, sql);
    }
  });
});

describe('table names for change capture', () => {
  it('quotes plain and schema-qualified names, folding unquoted ones to lower case', () => {
    assert.deepEqual(qualifiedTable('Notes'), { schema: 'public', name: 'notes', sql: '"public"."notes"' });
    assert.deepEqual(qualifiedTable('app.items'), { schema: 'app', name: 'items', sql: '"app"."items"' });
    assert.deepEqual(qualifiedTable('"My Schema"."Odd""Name"'), { schema: 'My Schema', name: 'Odd"Name', sql: '"My Schema"."Odd""Name"' });
  });

  it('refuses anything that is not one or two identifiers', () => {
    for (const bad of ['', 'a.b.c', 'notes; drop table x', 'a b', '1abc']) assert.throws(() => qualifiedTable(bad), DatabaseError, bad);
  });
});
