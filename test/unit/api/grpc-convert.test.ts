import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromProtoTrigger, toProtoTrigger } from '../../../src/api/index.js';
import { FunctionError } from '../../../src/errors/index.js';
import type { Trigger } from '../../../src/registry/index.js';

describe('gRPC trigger conversion', () => {
  it('round-trips every trigger type', () => {
    const triggers: Trigger[] = [
      { type: 'http' },
      { type: 'database', table: 'notes', operations: ['INSERT', 'DELETE'], filter: [{ column: 'status', equals: 'paid' }] },
      { type: 'schedule', cron: '*/5 * * * *', timezone: 'Europe/Paris', catchUp: true },
      { type: 'schedule', cron: '0 0 * * *' },
    ];
    triggers.forEach((trigger, i) => assert.deepEqual(fromProtoTrigger(toProtoTrigger(trigger), i), trigger));
  });

  it('upper-cases operations and refuses unknown ones with the field named', () => {
    const lower = fromProtoTrigger({ kind: { $case: 'database', value: { table: 't', operations: ['insert'], filterJson: '' } } }, 0);
    assert.deepEqual(lower, { type: 'database', table: 't', operations: ['INSERT'] });
    assert.throws(
      () => fromProtoTrigger({ kind: { $case: 'database', value: { table: 't', operations: ['UPSERT'], filterJson: '' } } }, 2),
      (error: unknown) => error instanceof FunctionError && error.kind === 'BadRequest' && /triggers\[2\]\.database\.operations has "UPSERT"/.test(error.message),
    );
  });

  it('refuses an empty trigger, an empty table, an empty cron and a filter that is not an array', () => {
    const bad = [
      { kind: undefined },
      { kind: { $case: 'database' as const, value: { table: '', operations: ['INSERT'], filterJson: '' } } },
      { kind: { $case: 'database' as const, value: { table: 't', operations: [], filterJson: '' } } },
      { kind: { $case: 'database' as const, value: { table: 't', operations: ['INSERT'], filterJson: '{"column":"x"}' } } },
      { kind: { $case: 'database' as const, value: { table: 't', operations: ['INSERT'], filterJson: '[oops' } } },
      { kind: { $case: 'schedule' as const, value: { cron: ' ', timezone: '' } } },
    ];
    for (const trigger of bad) {
      assert.throws(() => fromProtoTrigger(trigger, 0), (error: unknown) => error instanceof FunctionError && error.kind === 'BadRequest');
    }
  });
});
