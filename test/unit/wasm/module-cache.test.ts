import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModuleCache, sha256Hex, type CompiledModule } from '../../../src/wasm/index.js';
import { watToWasm } from '../../fixtures/wasm/compile-fixture.js';

const wat = (n: number): string => `(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64) (i64.const ${n})))`;

describe('module cache peek', () => {
  it('finds a compiled module again, not after it was evicted, and per memory limit', async () => {
    const evicted: CompiledModule[] = [];
    const cache = createModuleCache({ maxEntries: 1, onEvict: (module) => evicted.push(module) });
    const [a, b] = await Promise.all([watToWasm(wat(1)), watToWasm(wat(2))]);
    const shaA = sha256Hex(a);
    const shaB = sha256Hex(b);
    const limits = { memoryMb: 1 };
    assert.equal(cache.peek(shaA, limits), undefined);
    const moduleA = await cache.load(shaA, limits, async () => a);
    assert.equal(cache.peek(shaA, limits), moduleA);
    assert.equal(cache.peek(shaA, limits), moduleA); // the remembered entry
    assert.equal(cache.peek(shaA, { memoryMb: 2 }), undefined); // another limit is another entry
    const moduleB = await cache.load(shaB, limits, async () => b);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(evicted, [moduleA]);
    assert.equal(cache.peek(shaA, limits), undefined); // evicted: the remembered entry must not answer
    assert.equal(cache.peek(shaB, limits), moduleB);
    const again = await cache.load(shaA, limits, async () => a);
    assert.notEqual(again, moduleA);
    assert.equal(cache.peek(shaA, limits), again);
  });

  it('does not remember a module whose compile failed', async () => {
    const cache = createModuleCache();
    const bytes = await watToWasm(wat(3));
    const sha = sha256Hex(bytes);
    await assert.rejects(cache.load(sha, { memoryMb: 1 }, async () => new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])), { kind: 'InvalidWasm' });
    assert.equal(cache.peek(sha, { memoryMb: 1 }), undefined);
    const module = await cache.load(sha, { memoryMb: 1 }, async () => bytes);
    assert.equal(cache.peek(sha, { memoryMb: 1 }), module);
  });
});
