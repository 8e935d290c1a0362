import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeChange, type ChangeEvent } from '../../../src/triggers/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/debezium/${name}`, import.meta.url), 'utf8');
const eventOf = (value: string | Buffer | null, headers?: Record<string, string>): ChangeEvent => {
  const result = decodeChange({ value, headers });
  assert.equal(result.kind, 'event', JSON.stringify(result));
  return (result as { event: ChangeEvent }).event;
};

describe('decodeChange: AeroDB change events', () => {
  it('reads table, op, row, old, commit time, transaction and RLS context', () => {
    const event = eventOf(JSON.stringify({
      table: 'orders', schema: 'public', op: 'UPDATE', row: { id: 1, total: 5 }, old: { id: 1, total: 4 },
      commitTs: '2026-01-02T03:04:05.000Z', txId: 77, context: { role: 'authenticated', sub: 'u1', claims: { role: 'authenticated', sub: 'u1' } },
    }));
    assert.deepEqual(event, {
      table: 'orders', schema: 'public', op: 'UPDATE', row: { id: 1, total: 5 }, old: { id: 1, total: 4 },
      commitTs: Date.parse('2026-01-02T03:04:05.000Z'), txId: '77',
      context: { role: 'authenticated', sub: 'u1', claims: { role: 'authenticated', sub: 'u1' } }, triggerDepth: 0, format: 'aerodb',
    });
  });

  it('gives a delete without row the old row as its row', () => {
    const event = eventOf(JSON.stringify({ table: 't', op: 'DELETE', row: null, old: { id: 9 }, commitTs: 1 }));
    assert.deepEqual(event.row, { id: 9 });
    assert.deepEqual(event.old, { id: 9 });
  });

  it('takes the trigger depth from the event or the aerofn-trigger-depth header, whichever is deeper', () => {
    assert.equal(eventOf(JSON.stringify({ table: 't', op: 'INSERT', row: {}, triggerDepth: 3 })).triggerDepth, 3);
    assert.equal(eventOf(JSON.stringify({ table: 't', op: 'INSERT', row: {} }), { 'aerofn-trigger-depth': '5' }).triggerDepth, 5);
    assert.equal(eventOf(JSON.stringify({ table: 't', op: 'INSERT', row: {}, triggerDepth: 6 }), { 'aerofn-trigger-depth': '2' }).triggerDepth, 6);
  });

  it('explains why a record cannot be decoded instead of throwing', () => {
    const cases: Array<[string | Buffer, RegExp]> = [
      ['{not json', /not JSON/],
      ['[1,2]', /not a JSON object/],
      [JSON.stringify({ table: 't', op: 'MERGE', row: {} }), /INSERT, UPDATE or DELETE/],
      [JSON.stringify({ table: 't', op: 'INSERT', row: 5 }), /"row" must be an object/],
      [JSON.stringify({ table: 't', op: 'INSERT', row: {}, context: { role: 'root' } }), /context/],
      [JSON.stringify({ table: 't', op: 'INSERT', row: {}, triggerDepth: -1 }), /triggerDepth/],
      [JSON.stringify({ hello: 'world' }), /neither an AeroDB change event/],
      [Buffer.from([0xff, 0xfe, 0x00]), /not JSON/],
    ];
    for (const [value, reason] of cases) {
      const result = decodeChange({ value });
      assert.equal(result.kind, 'error', `expected an error for ${String(value)}`);
      assert.match((result as { reason: string }).reason, reason);
    }
    const badHeader = decodeChange({ value: JSON.stringify({ table: 't', op: 'INSERT', row: {} }), headers: { 'aerofn-trigger-depth': 'x' } });
    assert.equal(badHeader.kind, 'error');
  });
});

describe("decodeChange: Debezium's PostgreSQL connector sample events", () => {
  const anne = { id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' };
  const anneMarie = { ...anne, first_name: 'Anne Marie' };

  for (const wrapper of ['with-schema', 'payload-only']) {
    it(`decodes the create event (${wrapper}) as an INSERT of the new row`, () => {
      const event = eventOf(fixture(`create-${wrapper}.json`));
      assert.deepEqual(event, {
        table: 'customers', schema: 'public', op: 'INSERT', row: anne, old: null,
        commitTs: 1559033904863, txId: '555', context: null, triggerDepth: 0, format: 'debezium',
      });
    });

    it(`decodes the update event (${wrapper}) with the key-only before image`, () => {
      const event = eventOf(fixture(`update-${wrapper}.json`));
      assert.equal(event.op, 'UPDATE');
      assert.deepEqual(event.row, anneMarie);
      assert.deepEqual(event.old, { id: 1 });
      assert.equal(event.txId, '556');
    });

    it(`decodes the delete event (${wrapper}) with the deleted row as row and old`, () => {
      const event = eventOf(fixture(`delete-${wrapper}.json`));
      assert.equal(event.op, 'DELETE');
      assert.deepEqual(event.row, { id: 1 });
      assert.deepEqual(event.old, { id: 1 });
      assert.equal(event.table, 'customers');
    });
  }

  it('skips the tombstone that follows a delete (same key, null value)', () => {
    assert.deepEqual(decodeChange({ value: null }), { kind: 'skip', reason: 'tombstone (null value)' });
    assert.equal(decodeChange({ value: Buffer.alloc(0) }).kind, 'skip');
  });

  it('passes over a truncate event, which names no row', () => {
    assert.equal(decodeChange({ value: fixture('truncate-payload-only.json') }).kind, 'skip');
  });

  it('reads a snapshot read (op r) as an INSERT', () => {
    const payload = JSON.parse(fixture('create-payload-only.json')) as Record<string, unknown>;
    assert.equal(eventOf(JSON.stringify({ ...payload, op: 'r' })).op, 'INSERT');
  });

  it('dead-letters an envelope with an unknown op or without its after image', () => {
    const payload = JSON.parse(fixture('create-payload-only.json')) as Record<string, unknown>;
    assert.match((decodeChange({ value: JSON.stringify({ ...payload, op: 'x' }) }) as { reason: string }).reason, /op must be c, r, u or d/);
    assert.match((decodeChange({ value: JSON.stringify({ ...payload, after: null }) }) as { reason: string }).reason, /no "after" row/);
  });
});
