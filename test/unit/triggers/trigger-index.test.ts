import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTriggerIndex, databaseTriggerTables, matchesFilter } from '../../../src/triggers/index.js';
import { functionDef } from '../pipeline/helpers.js';

describe('createTriggerIndex', () => {
  const onOrders = functionDef('on-orders', [{ type: 'database', table: 'orders', operations: ['INSERT', 'UPDATE'] }]);
  const bigOrders = functionDef('big-orders', [{ type: 'database', table: 'public.orders', operations: ['INSERT'], filter: [{ column: 'total', numeric: ['>=', 100] }] }]);
  const deletes = functionDef('on-delete', [{ type: 'database', table: 'orders', operations: ['DELETE'] }]);
  const disabled = { ...functionDef('off', [{ type: 'database', table: 'orders', operations: ['INSERT'] }]), enabled: false };
  const httpOnly = functionDef('http', [{ type: 'http' }]);
  const index = createTriggerIndex([onOrders, bigOrders, deletes, disabled, httpOnly]);
  const names = (event: Parameters<typeof index.lookup>[0]): string[] => index.lookup(event).map((fn) => fn.name).sort();

  it('finds the enabled functions on (table, operation)', () => {
    assert.deepEqual(names({ table: 'orders', schema: 'public', op: 'INSERT', row: { total: 5 }, old: null }), ['on-orders']);
    assert.deepEqual(names({ table: 'orders', schema: 'public', op: 'INSERT', row: { total: 500 }, old: null }), ['big-orders', 'on-orders']);
    assert.deepEqual(names({ table: 'orders', schema: null, op: 'DELETE', row: null, old: { id: 1 } }), ['on-delete']);
    assert.deepEqual(names({ table: 'users', schema: 'public', op: 'INSERT', row: {}, old: null }), []);
  });

  it('honours a schema-qualified trigger table', () => {
    assert.deepEqual(names({ table: 'orders', schema: 'audit', op: 'INSERT', row: { total: 500 }, old: null }), ['on-orders']);
    assert.deepEqual(names({ table: 'public.orders', schema: null, op: 'INSERT', row: { total: 500 }, old: null }), ['big-orders', 'on-orders']);
  });

  it('lists the tables change capture must cover', () => {
    assert.deepEqual(databaseTriggerTables([onOrders, bigOrders, deletes, disabled, httpOnly, functionDef('u', [{ type: 'database', table: 'users', operations: ['UPDATE'] }])]), ['orders', 'public.orders', 'users']);
  });

  it('invokes a function with two matching triggers once', () => {
    const twice = functionDef('twice', [
      { type: 'database', table: 'orders', operations: ['INSERT'] },
      { type: 'database', table: 'orders', operations: ['INSERT', 'UPDATE'] },
    ]);
    assert.equal(createTriggerIndex([twice]).lookup({ table: 'orders', schema: null, op: 'INSERT', row: {}, old: null }).length, 1);
  });

  it('answers triggers without schema or filter with one shared, frozen list; a filter makes it per event', () => {
    const plain = createTriggerIndex([onOrders, deletes]);
    const first = plain.lookup({ table: 'orders', schema: 'public', op: 'UPDATE', row: { id: 1 }, old: null });
    const second = plain.lookup({ table: 'orders', schema: null, op: 'UPDATE', row: { id: 2 }, old: null });
    assert.equal(first, second);
    assert.ok(Object.isFrozen(first));
    assert.deepEqual(first.map((fn) => fn.name), ['on-orders']);
    assert.deepEqual(plain.lookup({ table: 'orders', schema: null, op: 'INSERT', row: null, old: null }).map((fn) => fn.name), ['on-orders']);
    assert.deepEqual(plain.lookup({ table: 'orders', schema: null, op: 'DELETE', row: null, old: { id: 1 } }).map((fn) => fn.name), ['on-delete']);
    const filtered = index.lookup({ table: 'orders', schema: 'public', op: 'INSERT', row: { total: 500 }, old: null });
    assert.notEqual(filtered, index.lookup({ table: 'orders', schema: 'public', op: 'INSERT', row: { total: 500 }, old: null }));
    assert.deepEqual(index.tables(), ['orders']);
  });
});

describe('matchesFilter', () => {
  const row = { status: 'paid', total: '120.50', email: 'a@example.com', address: { city: 'Oslo' }, tags: null };
  const cases: Array<[Parameters<typeof matchesFilter>[0], boolean]> = [
    [[{ column: 'status', equals: 'paid' }], true],
    [[{ column: 'status', equals: 'new' }], false],
    [[{ column: 'status', in: ['new', 'paid'] }], true],
    [[{ column: 'status', anythingBut: ['new', 'paid'] }], false],
    [[{ column: 'status', anythingBut: ['new'] }], true],
    [[{ column: 'email', prefix: 'a@' }], true],
    [[{ column: 'email', suffix: '@example.com' }], true],
    [[{ column: 'email', suffix: '@example.org' }], false],
    [[{ column: 'total', numeric: ['>', 100] }], true],
    [[{ column: 'total', numeric: ['<', 100] }], false],
    [[{ column: 'total', equals: 120.5 }], true],
    [[{ column: 'address.city', equals: 'Oslo' }], true],
    [[{ column: 'tags', exists: true }], true],
    [[{ column: 'missing', exists: false }], true],
    [[{ column: 'missing', equals: null }], false],
    [[{ column: 'status', equals: 'paid' }, { column: 'total', numeric: ['>=', 200] }], false],
    [[], true],
    [undefined, true],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} → ${expected}`, () => assert.equal(matchesFilter(filter, row), expected));
  }
});
