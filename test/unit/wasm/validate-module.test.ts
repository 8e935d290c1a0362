import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FunctionError } from '../../../src/errors/index.js';
import { checkModule, validateModule, WASM_PAGE_BYTES } from '../../../src/wasm/index.js';
import { compileFixture, pseudoRandomBytes, watToWasm } from '../../fixtures/wasm/compile-fixture.js';

async function rejection(promise: Promise<unknown>): Promise<FunctionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FunctionError, `expected a FunctionError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the module to be rejected');
}

const echoWith = (memory: string) => `(module (memory (export "memory") ${memory})
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64) (i64.const 0)))`;

describe('validateModule', () => {
  it('accepts the echo fixture and caps a missing memory maximum at memoryMb', async () => {
    const validated = await validateModule(await compileFixture('echo'), { memoryMb: 16 });
    assert.equal(validated.memory.initialPages, 1);
    assert.equal(validated.memory.declaredMaxPages, undefined);
    assert.equal(validated.memory.maxPages, 16 * 16);
    assert.match(validated.sha256, /^[0-9a-f]{64}$/);
    const instance = new WebAssembly.Instance(validated.module, {});
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    memory.grow(16 * 16 - 1);
    assert.throws(() => memory.grow(1), RangeError, 'growth past the rewritten maximum must fail inside V8');
  });

  it('lowers a declared maximum above the limit and keeps one below it', async () => {
    const above = await validateModule(await watToWasm(echoWith('1 65536')), { memoryMb: 2 });
    assert.equal(above.memory.declaredMaxPages, 65536);
    assert.equal(above.memory.maxPages, 32);
    const below = await validateModule(await watToWasm(echoWith('1 8')), { memoryMb: 2 });
    assert.equal(below.memory.maxPages, 8);
    assert.equal(checkModule(await watToWasm(echoWith('2 4')), { memoryMb: 1 }).memory.maxPages * WASM_PAGE_BYTES, 4 * WASM_PAGE_BYTES);
  });

  it('refuses an initial memory above the limit with InvalidWasm (400)', async () => {
    const error = await rejection(validateModule(await compileFixture('initial-memory-over-limit'), { memoryMb: 128 }));
    assert.equal(error.kind, 'InvalidWasm');
    assert.equal(error.httpStatus, 400);
    assert.match(error.message, /initial memory is 200 MiB \(3200 pages\), above the 128 MiB limit/);
  });

  const cases: Array<[fixture: string, reason: RegExp]> = [
    ['missing-handler', /does not export a function "handler" \(i32, i32\) -> i64/],
    ['missing-memory', /does not export its memory as "memory"/],
    ['forbidden-import', /imports wasi_snapshot_preview1\.fd_write, which the sandbox does not provide/],
    ['imported-memory', /imports its memory \(aerodb\.memory\)/],
    ['wrong-handler-signature', /"handler" must be \(i32, i32\) -> i64, but it is \(i32, i32\) -> i32/],
  ];
  for (const [fixture, reason] of cases) {
    it(`refuses ${fixture} with InvalidWasm (400) and says why`, async () => {
      const error = await rejection(validateModule(await compileFixture(fixture), { memoryMb: 128 }));
      assert.equal(error.kind, 'InvalidWasm');
      assert.equal(error.httpStatus, 400);
      assert.match(error.message, reason);
    });
  }

  it('refuses random bytes and WAT text as "not a WebAssembly module"', async () => {
    for (const bytes of [pseudoRandomBytes(4096), new TextEncoder().encode('(module)'), new Uint8Array(0)]) {
      const error = await rejection(validateModule(bytes, { memoryMb: 128 }));
      assert.equal(error.kind, 'InvalidWasm');
      assert.match(error.message, /not a WebAssembly module/);
    }
  });

  it('refuses a module with a valid header but corrupt code as "does not compile"', async () => {
    const bytes = await compileFixture('echo');
    const corrupt = new Uint8Array([...bytes.subarray(0, bytes.length - 3), 0xff, 0xff, 0xff]);
    const error = await rejection(validateModule(corrupt, { memoryMb: 128 }));
    assert.equal(error.kind, 'InvalidWasm');
  });

  it('refuses an aerodb import with the wrong signature', async () => {
    const wat = `(module (import "aerodb" "log" (func (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "handler") (param i32 i32) (result i64) (i64.const 0)))`;
    const error = await rejection(validateModule(await watToWasm(wat), { memoryMb: 1 }));
    assert.match(error.message, /aerodb\.log must be a function \(i32, i32, i32\) -> \(\)/);
  });

  it('lists the host functions a module imports', async () => {
    const validated = await validateModule(await compileFixture('host-calls'), { memoryMb: 1 });
    assert.deepEqual([...validated.hostImports].sort(), ['db_query', 'env', 'http_fetch', 'log']);
    assert.equal((await validateModule(await compileFixture('abort'), { memoryMb: 1 })).importsAbort, true);
  });
});
