import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apply,
  buildTriggerIndex,
  decodeRegistryEvent,
  emptyRegistryState,
  encodeRegistryEvent,
  getFunction,
  getFunctionById,
  getFunctionVersion,
  listFunctions,
  replay,
  stateHash,
  type RegistryEvent,
} from '../../../src/registry/index.js';
import { applyInPlace, createDraft } from '../../../src/registry/registry-state.js';
import { baseConfig, deployed, simple } from './registry-fixtures.js';

describe('registry fold: apply(state, event)', () => {
  it('makes version 1 of a new name, with its time and caller from the event', () => {
    const event = deployed('hello', 0);
    const state = apply(emptyRegistryState(), event);
    const fn = getFunction(state, 'hello');
    assert.equal(fn?.id, 'hello@1');
    assert.equal(fn?.version, 1);
    assert.equal(fn?.deployedAt, event.at);
    assert.equal(fn?.deployedBy, 'user-1');
    assert.equal(fn?.enabled, true);
    assert.deepEqual(state.modules.get(event.sha256), event.module);
  });

  it('adds a version on redeploy and keeps the old one for pinned replays', () => {
    const state = replay([deployed('hello', 0), deployed('hello', 1, { sha256: 'b'.repeat(64) })]);
    assert.equal(getFunction(state, 'hello')?.version, 2);
    assert.equal(getFunctionVersion(state, 'hello', 1)?.sha256, 'a'.repeat(64));
    assert.equal(getFunctionById(state, 'hello@2')?.sha256, 'b'.repeat(64));
    assert.equal(getFunctionById(state, 'hello@9'), undefined);
  });

  it('lets only the first of two deploys with the same expectedVersion win', () => {
    const first = deployed('race', 0, { sha256: '1'.repeat(64) });
    const second = deployed('race', 0, { sha256: '2'.repeat(64) });
    const draft = createDraft();
    assert.deepEqual(applyInPlace(draft, first), { accepted: true });
    assert.deepEqual(applyInPlace(draft, second), { accepted: false, reason: 'version-conflict' });
    assert.equal(getFunction(draft, 'race')?.sha256, '1'.repeat(64));
    assert.equal(draft.eventCount, 2);
    assert.equal(draft.rejectedCount, 1);
  });

  it('rejects a deploy whose version is not expectedVersion + 1', () => {
    const state = apply(emptyRegistryState(), deployed('odd', 0, { version: 5 }));
    assert.equal(getFunction(state, 'odd'), undefined);
    assert.equal(state.rejectedCount, 1);
  });

  it('undeploys, keeps the version count, and redeploys as the next version', () => {
    const state = replay([deployed('f', 0), simple('FunctionUndeployed', 'f', 1), deployed('f', 1)]);
    assert.equal(getFunction(state, 'f')?.version, 2);
    assert.equal(state.functions.get('f')?.latestVersion, 2);
    const gone = replay([deployed('f', 0), simple('FunctionUndeployed', 'f', 1)]);
    assert.equal(getFunction(gone, 'f'), undefined);
    assert.equal(listFunctions(gone).length, 0);
    assert.equal(getFunctionVersion(gone, 'f', 1)?.version, 1, 'old versions stay readable for audit');
  });

  it('disables and enables the serving version', () => {
    const disabled = replay([deployed('f', 0), simple('FunctionDisabled', 'f', 1)]);
    assert.equal(getFunction(disabled, 'f')?.enabled, false);
    const enabled = apply(disabled, simple('FunctionEnabled', 'f', 1));
    assert.equal(getFunction(enabled, 'f')?.enabled, true);
  });

  it('rejects enable, disable and undeploy of a name that is not deployed', () => {
    const draft = createDraft();
    assert.deepEqual(applyInPlace(draft, simple('FunctionDisabled', 'ghost', 0)), { accepted: false, reason: 'not-deployed' });
    assert.deepEqual(applyInPlace(draft, simple('FunctionUndeployed', 'ghost', 0)), { accepted: false, reason: 'not-deployed' });
    assert.deepEqual(applyInPlace(draft, simple('FunctionEnabled', 'ghost', 3)), { accepted: false, reason: 'version-conflict' });
  });

  it('counts a record that is not an event as rejected and carries on', () => {
    const state = replay([undefined, deployed('f', 0)]);
    assert.equal(state.eventCount, 2);
    assert.equal(state.rejectedCount, 1);
    assert.equal(getFunction(state, 'f')?.version, 1);
  });

  it('never changes the state it was given', () => {
    const before = replay([deployed('f', 0)]);
    const hash = stateHash(before);
    const after = apply(before, deployed('f', 1));
    apply(before, simple('FunctionUndeployed', 'f', 1));
    assert.equal(stateHash(before), hash);
    assert.equal(getFunction(before, 'f')?.version, 1);
    assert.equal(getFunction(after, 'f')?.version, 2);
    assert.notEqual(stateHash(after), hash);
  });

  it('gives the same state from replay and from one apply at a time', () => {
    const events: RegistryEvent[] = [deployed('a', 0), deployed('b', 0), simple('FunctionDisabled', 'a', 1), deployed('a', 0), deployed('a', 1), simple('FunctionUndeployed', 'b', 1)];
    const stepwise = events.reduce((state, event) => apply(state, event), emptyRegistryState());
    assert.equal(stateHash(replay(events)), stateHash(stepwise));
    assert.equal(replay(events).rejectedCount, 1);
  });
});

describe('registry events on the wire', () => {
  it('round-trips an event through its JSON encoding', () => {
    const event = deployed('wire', 0);
    assert.deepEqual(decodeRegistryEvent(encodeRegistryEvent(event)), event);
  });

  it('refuses records that are not registry events', () => {
    for (const value of [null, 'not json', '[]', '{"type":"FunctionDeployed"}', JSON.stringify({ ...deployed('x', 0), sha256: 'xyz' }), JSON.stringify({ ...simple('FunctionEnabled', 'x', 0), type: 'Other' })]) {
      assert.equal(decodeRegistryEvent(value), undefined, String(value));
    }
  });

  it('hashes equal states equally whatever the key order of the event JSON', () => {
    const event = deployed('order', 0);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(event).reverse()))) as unknown;
    const config = Object.fromEntries(Object.entries(baseConfig).reverse());
    const decoded = decodeRegistryEvent(JSON.stringify({ ...(reordered as object), config }));
    assert.ok(decoded !== undefined);
    assert.equal(stateHash(replay([decoded])), stateHash(replay([event])));
  });

  it('hashes different states differently', () => {
    assert.notEqual(stateHash(replay([deployed('a', 0)])), stateHash(replay([deployed('b', 0)])));
    assert.notEqual(stateHash(replay([deployed('a', 0)])), stateHash(emptyRegistryState()));
  });
});

describe('trigger index', () => {
  it('indexes enabled functions by table and operation, schedule and http', () => {
    const state = replay([
      deployed('on-insert', 0, { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT'] }] }),
      deployed('on-any', 0, { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT', 'UPDATE', 'DELETE'] }, { type: 'http' }] }),
      deployed('nightly', 0, { triggers: [{ type: 'schedule', cron: '0 3 * * *', timezone: 'Europe/Berlin' }] }),
      deployed('off', 0, { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT'] }, { type: 'http' }] }),
      simple('FunctionDisabled', 'off', 1),
    ]);
    const index = buildTriggerIndex(state);
    assert.deepEqual(index.database.get('orders')?.get('INSERT')?.map((fn) => fn.name), ['on-any', 'on-insert']);
    assert.deepEqual(index.database.get('orders')?.get('DELETE')?.map((fn) => fn.name), ['on-any']);
    assert.deepEqual(index.http.map((fn) => fn.name), ['on-any']);
    assert.deepEqual(index.schedules.map((s) => [s.jobId, s.trigger.cron]), [['nightly#0', '0 3 * * *']]);
  });
});
