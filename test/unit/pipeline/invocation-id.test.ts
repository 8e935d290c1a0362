import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { invocationIdFor } from '../../../src/pipeline/index.js';

/** The id as first specified (slices of the hex digest): ids must not change across versions. */
function reference(topic: string, partition: number, offset: number, fn: string, version: number): string {
  const hex = hash('sha256', `${topic}\u0000${partition}\u0000${offset}\u0000${fn}\u0000${version}`, 'hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

describe('invocationIdFor', () => {
  it('is the same name-based UUID as before for many positions (every variant digit occurs)', () => {
    const variants = new Set<string>();
    for (let offset = 0; offset < 3000; offset++) {
      const id = invocationIdFor('aerodb.changes', offset % 3, offset, offset % 2 === 0 ? 'audit' : 'fn-é', 1 + (offset % 4));
      assert.equal(id, reference('aerodb.changes', offset % 3, offset, offset % 2 === 0 ? 'audit' : 'fn-é', 1 + (offset % 4)));
      variants.add(id[19]!);
    }
    assert.deepEqual([...variants].sort(), ['8', '9', 'a', 'b']);
  });

  it('returns independent strings (the scratch buffer is reused)', () => {
    const a = invocationIdFor('t', 0, 1, 'f', 1);
    const b = invocationIdFor('t', 0, 2, 'f', 1);
    assert.notEqual(a, b);
    assert.equal(a, reference('t', 0, 1, 'f', 1));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
