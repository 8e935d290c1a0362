import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStalePlan, PreparedStatements } from '../../../src/db/prepared-statements.js';

describe('PreparedStatements (per-session LRU of guest statements)', () => {
  it('parses a statement on first use only, once its pipeline succeeded', () => {
    const statements = new PreparedStatements(2, 's');
    assert.deepEqual(statements.use('select 1'), { name: 's0', parse: true, close: [] });
    statements.succeeded('select 1');
    assert.deepEqual(statements.use('select 1'), { name: 's0', parse: false, close: [] });
  });

  it('closes and parses again a statement whose pipeline failed (it may or may not exist)', () => {
    const statements = new PreparedStatements(2, 's');
    statements.use('select 1');
    statements.failed('select 1');
    assert.deepEqual(statements.use('select 1'), { name: 's0', parse: true, close: ['s0'] });
    statements.succeeded('select 1');
    assert.deepEqual(statements.use('select 1'), { name: 's0', parse: false, close: [] });
  });

  it('evicts the least recently used beyond its capacity and closes it in the next pipeline', () => {
    const statements = new PreparedStatements(2, 's');
    for (const sql of ['a', 'b']) {
      statements.use(sql);
      statements.succeeded(sql);
    }
    statements.use('a'); // b is now the least recently used
    assert.deepEqual(statements.use('c'), { name: 's2', parse: true, close: ['s1'] });
    assert.equal(statements.size, 2);
    statements.succeeded('c');
    assert.deepEqual(statements.use('b'), { name: 's3', parse: true, close: ['s0'] }, 'a new name: an evicted one is never reused');
  });

  it('closes again the names of a pipeline that never ran', () => {
    const statements = new PreparedStatements(1, 's');
    statements.use('a');
    statements.succeeded('a');
    const use = statements.use('b');
    assert.deepEqual(use?.close, ['s0']);
    statements.failed('b');
    statements.closeLater(use?.close ?? []);
    assert.deepEqual(statements.use('b'), { name: 's1', parse: true, close: ['s0', 's1'] });
  });

  it('prepares nothing with capacity 0', () => {
    assert.equal(new PreparedStatements(0).use('select 1'), undefined);
  });

  it('knows the stale-plan error of a table that changed shape, and nothing else', () => {
    assert.equal(isStalePlan({ code: '0A000', message: 'cached plan must not change result type' }), true);
    assert.equal(isStalePlan({ code: '0A000', message: 'some other unsupported feature' }), false);
    assert.equal(isStalePlan({ code: '42601', message: 'cached plan must not change result type' }), false);
    assert.equal(isStalePlan(undefined), false);
  });
});
