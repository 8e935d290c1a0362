import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { payloadOf } from '../../../src/pipeline/invoke-attempt.js';
import type { InvocationTask } from '../../../src/pipeline/types.js';

describe('payloadOf', () => {
  it('writes what JSON.stringify({table, schema, op, row, old}) writes, for any change', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\ud800', 'é€'));
    const row = fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: null });
    fc.assert(
      fc.property(text, fc.option(text, { nil: null }), fc.constantFrom('INSERT', 'UPDATE', 'DELETE'), row, row, (table, schema, op, r, old) => {
        const task = { event: { table, schema, op, row: r, old } } as unknown as InvocationTask;
        assert.equal(payloadOf(task), JSON.stringify({ table, schema, op, row: r, old }));
        // Twice: the second takes the kept head.
        assert.equal(payloadOf(task), JSON.stringify({ table, schema, op, row: r, old }));
      }),
      { numRuns: 2000 },
    );
  });
});
