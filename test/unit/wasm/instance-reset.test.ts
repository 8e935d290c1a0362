import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { noFacts, scanCode, UnknownOpcode } from '../../../src/wasm/code-scan.js';
import { planInstanceReset } from '../../../src/wasm/instance-reset.js';
import { ModuleInstances } from '../../../src/wasm/module-instances.js';
import { Reader, readWasmStructure, rewriteMemoryAsImport } from '../../../src/wasm/wasm-binary.js';
import { watToWasm } from '../../fixtures/wasm/compile-fixture.js';

const allFeatures = { simd: true, reference_types: true, tail_call: true, exceptions: true };

/** The module as the sandbox compiles it (memory imported), then planned. */
async function plan(body: string): Promise<ReturnType<typeof planInstanceReset>> {
  const bytes = await watToWasm(`(module ${body})`, 'reset.wat', allFeatures);
  return planInstanceReset(rewriteMemoryAsImport(bytes, readWasmStructure(bytes), 'aerofn:sandbox', 'memory', 1, 16));
}

const handler = `(func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64) (i64.const 0))`;

describe('instance reset: which modules may reuse an instance', () => {
  it('accepts every AssemblyScript SDK build, exporting its mutable globals; the rewrite compiles', () => {
    for (const name of ['echo', 'hello', 'notes', 'on-note-insert', 'tick']) {
      const bytes = new Uint8Array(readFileSync(new URL(`../../../sdk/assemblyscript/build/${name}.wasm`, import.meta.url)));
      const planned = planInstanceReset(rewriteMemoryAsImport(bytes, readWasmStructure(bytes), 'aerofn:sandbox', 'memory', 1, 16));
      assert.ok(planned !== undefined, name);
      assert.ok(planned.reset.globals.length > 0, name);
      const exported = new Set(WebAssembly.Module.exports(new WebAssembly.Module(planned.bytes)).map((entry) => entry.name));
      for (const global of planned.reset.globals) assert.ok(exported.has(global), `${name} exports ${global}`);
    }
  });

  it('reads past every kind of immediate: SIMD, bulk memory, references, tail calls, exceptions', async () => {
    const busy = `(memory 1) (table $t 2 funcref) (elem (table $t) (i32.const 0) func $f) (data $p "passive")
      (tag $e (param i32)) (type $v (func))
      (global $g (mut i64) (i64.const -9007199254740991)) (global $h (mut f64) (f64.const 2.5))
      (func $f
        (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (v128.const i32x4 1 2 3 4) (v128.load offset=16 align=4 (i32.const 0))))
        (drop (i32x4.extract_lane 3 (v128.load32_zero (i32.const 8))))
        (v128.store (i32.const 32) (v128.load8_lane 5 (i32.const 1) (v128.const i64x2 7 8)))
        (memory.copy (i32.const 0) (i32.const 64) (i32.const 8)) (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
        (memory.init $p (i32.const 0) (i32.const 0) (i32.const 3))
        (drop (i32.trunc_sat_f64_s (f64.const 1e300))) (drop (i64.extend32_s (i64.const 0x7fffffffff)))
        (drop (ref.is_null (ref.null func))) (drop (table.get $t (i32.const 0))) (drop (ref.func $f))
        (drop (select (result f32) (f32.const 1) (f32.const 2) (i32.const 1)))
        (block $a (block $b (br_table $a $b $a (i32.const 1))))
        (try (do (throw $e (i32.const 1))) (catch $e (drop)) (catch_all))
        (call_indirect (type $v) (i32.const 0)))
      (func $tail (return_call $f))
      ${handler}`;
    assert.ok((await plan(busy)) !== undefined, 'nothing here changes state that a reset cannot restore');
    // The same code with one state change at its very end: found only if every immediate was read right.
    assert.equal(await plan(busy.replace('(call_indirect (type $v) (i32.const 0)))', '(call_indirect (type $v) (i32.const 0)) (data.drop $p))')), undefined);
  });

  it('refuses modules whose instances keep state a reset cannot restore', async () => {
    const refused: Record<string, string> = {
      'data.drop': `(memory 1) (data $d "x") (func (data.drop $d)) ${handler}`,
      'elem.drop': `(memory 1) (table 1 funcref) (elem $e func $n) (func $n) (func (elem.drop $e)) ${handler}`,
      'table.set': `(memory 1) (table $t 1 funcref) (func $n) (func (table.set $t (i32.const 0) (ref.func $n))) (elem declare func $n) ${handler}`,
      'table.grow': `(memory 1) (table $t 1 funcref) (func (drop (table.grow $t (ref.null func) (i32.const 1)))) ${handler}`,
      'table.fill': `(memory 1) (table $t 1 funcref) (func (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))) ${handler}`,
      'a start function that calls an import': `(import "aerodb" "log" (func $log (param i32 i32 i32))) (memory 1)
        (func $init (call $helper)) (func $helper (call $log (i32.const 1) (i32.const 0) (i32.const 0))) (start $init) ${handler}`,
      'a start function that calls indirectly': `(memory 1) (table 1 funcref) (type $v (func)) (func $n) (elem (i32.const 0) $n)
        (func $init (call_indirect (type $v) (i32.const 0))) (start $init) ${handler}`,
      'an imported global': `(import "env" "g" (global i32)) (memory 1) ${handler}`,
      'a mutable v128 global': `(memory 1) (global (mut v128) (v128.const i32x4 0 0 0 0)) ${handler}`,
      'an export named like the globals the rewrite exports': `(memory 1) (global (export "aerofn:global:0") (mut i32) (i32.const 0)) ${handler}`,
    };
    for (const [what, body] of Object.entries(refused)) assert.equal(await plan(body), undefined, what);
    // A start function that only computes (AssemblyScript's sets the heap base) is fine.
    assert.ok((await plan(`(memory 1) (global $base (mut i32) (i32.const 0)) (func $init (global.set $base (i32.const 64))) (start $init) ${handler}`)) !== undefined);
  });

  it('stops at an opcode it does not know (the GC proposal) instead of guessing', () => {
    assert.throws(() => scanCode(new Reader(Uint8Array.from([0xfb, 0x00, 0x0b])), noFacts()), UnknownOpcode);
    const facts = noFacts();
    scanCode(new Reader(Uint8Array.from([0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x10, 0x05, 0x1a, 0x0b])), facts);
    assert.deepEqual([...facts.calls], [5]);
  });
});

describe('instance reset: a reused instance is as fresh as a new one', () => {
  const wat = `(module (memory (export "memory") 1)
    (global $n (mut i32) (i32.const 0)) (global $big (mut i64) (i64.const 5)) (global $f (mut f64) (f64.const 1.5))
    (data (i32.const 100) "A")
    (func (export "alloc") (param i32) (result i32) (i32.const 1024))
    (func (export "handler") (param i32 i32) (result i64)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.set $big (i64.const 9)) (global.set $f (f64.const 2.5))
      (i32.store8 (i32.const 100) (i32.const 90)) (i32.store (i32.const 40000) (i32.const 7))
      (i64.extend_i32_u (global.get $n))))`;

  async function instances(): Promise<ModuleInstances> {
    const bytes = await watToWasm(wat);
    const planned = planInstanceReset(rewriteMemoryAsImport(bytes, readWasmStructure(bytes), 'aerofn:sandbox', 'memory', 1, 16));
    assert.ok(planned !== undefined);
    return new ModuleInstances(new WebAssembly.Module(planned.bytes), { initialPages: 1, maxPages: 16 }, planned.reset);
  }

  it('hands back the same instance with its memory and every mutable global as after instantiation', async () => {
    const pool = await instances();
    const slot: { memory: WebAssembly.Memory | number } = { memory: 0 };
    const imports = { 'aerofn:sandbox': slot } as unknown as WebAssembly.Imports;
    const first = pool.take(imports, slot);
    const run = (instance: WebAssembly.Instance): bigint => (instance.exports['handler'] as (p: number, l: number) => bigint)(0, 0);
    assert.equal(run(first), 1n);
    pool.release(true);
    const second = pool.take(imports, slot);
    assert.equal(second, first, 'the instance was reused');
    const memory = new Uint8Array((second.exports['memory'] as WebAssembly.Memory).buffer);
    assert.equal(memory[100], 65, 'the data segment is back');
    assert.equal(memory[40000], 0, 'what the last run wrote is gone');
    assert.equal((second.exports['aerofn:global:1'] as WebAssembly.Global).value, 5n);
    assert.equal((second.exports['aerofn:global:2'] as WebAssembly.Global).value, 1.5);
    assert.equal(run(second), 1n, 'the counter starts from 0 again');
    assert.deepEqual([pool.created, pool.reused], [1, 1]);
  });

  it('drops an instance whose run did not end cleanly or grew its memory', async () => {
    const pool = await instances();
    const slot: { memory: WebAssembly.Memory | number } = { memory: 0 };
    const imports = { 'aerofn:sandbox': slot } as unknown as WebAssembly.Imports;
    const first = pool.take(imports, slot);
    pool.release(false); // trapped, timed out, bad output
    const second = pool.take(imports, slot);
    assert.notEqual(second, first);
    (second.exports['memory'] as WebAssembly.Memory).grow(1);
    pool.release(true);
    assert.notEqual(pool.take(imports, slot), second);
    assert.deepEqual([pool.created, pool.reused], [3, 0]);
  });
});
