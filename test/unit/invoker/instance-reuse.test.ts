import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { createInMemoryFunctions, createInvoker, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { watToWasm } from '../../fixtures/wasm/compile-fixture.js';

/*
 * Hostile functions against instance reuse (src/wasm/instance-reset.ts): each tries to carry
 * something from one invocation to the next — a global, memory it wrote, a data segment it
 * overwrote, memory it grew — through the same worker, and reports what it found as digits
 * (1 = fresh). A reused instance must look exactly like a new one.
 */
const probe = `(module (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0)) (global $big (mut i64) (i64.const 5)) (global $f (mut f64) (f64.const 1.5))
  (data (i32.const 100) "A") (data (i32.const 30000) "B")
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func $digit (param $at i32) (param $ok i32) (i32.store8 (local.get $at) (i32.add (i32.const 48) (local.get $ok))))
  (func (export "handler") (param $ptr i32) (param $len i32) (result i64)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    ;; "[a,b,c,d,e,f,g]" at 2048: each 1 when the state is what instantiation gave
    (i32.store8 (i32.const 2048) (i32.const 91))
    (call $digit (i32.const 2049) (i32.eq (global.get $n) (i32.const 1)))
    (call $digit (i32.const 2051) (i64.eq (global.get $big) (i64.const 5)))
    (call $digit (i32.const 2053) (f64.eq (global.get $f) (f64.const 1.5)))
    (call $digit (i32.const 2055) (i32.eq (i32.load8_u (i32.const 100)) (i32.const 65)))
    (call $digit (i32.const 2057) (i32.eqz (i32.load (i32.const 40000))))
    (call $digit (i32.const 2059) (i32.eq (memory.size) (i32.const 1)))
    ;; a second data segment far from the first (the reset restores each run of data)
    (call $digit (i32.const 2061) (i32.eq (i32.load8_u (i32.const 30000)) (i32.const 66)))
    (i32.store8 (i32.const 2050) (i32.const 44)) (i32.store8 (i32.const 2052) (i32.const 44)) (i32.store8 (i32.const 2054) (i32.const 44))
    (i32.store8 (i32.const 2056) (i32.const 44)) (i32.store8 (i32.const 2058) (i32.const 44)) (i32.store8 (i32.const 2060) (i32.const 44)) (i32.store8 (i32.const 2062) (i32.const 93))
    ;; now spoil everything for whoever comes next
    (global.set $big (i64.const 9)) (global.set $f (f64.const 2.5))
    (i32.store8 (i32.const 100) (i32.const 90)) (i32.store (i32.const 40000) (i32.const 7)) (i32.store8 (i32.const 30000) (i32.const 90))
    ;; input 2: grow the memory; input 3: trap after spoiling
    (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 50)) (then (drop (memory.grow (i32.const 1)))))
    (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 51)) (then unreachable))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 15))))`;

// data.drop leaves a segment dropped for the instance's life: a reused instance would trap in
// memory.init on its second run, so instances of this module must not be reused.
const dropsItsSegment = `(module (memory (export "memory") 1) (data $once "\\22fresh\\22")
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handler") (param i32 i32) (result i64)
    (memory.init $once (i32.const 2048) (i32.const 0) (i32.const 7))
    (data.drop $once)
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 7))))`;

describe('instance reuse under hostile functions (real sandbox worker)', () => {
  let invoker: SandboxInvoker;
  const call = async (name: string, payload: string): Promise<{ ok: boolean; output: string; logs: number }> => {
    const record = await invoker.invoke({ functionName: name, payload, trigger: 'http', rls: serviceRoleContext });
    return { ok: record.outcome.ok, output: record.outcome.ok ? record.outcome.output : '', logs: record.journal.filter((entry) => entry.fn === 'log').length };
  };

  before(async () => {
    const config = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
    const functions = createInMemoryFunctions(config.defaults);
    invoker = createInvoker({ functions, config, logger: silentLogger() });
    await invoker.ready();
    await functions.deploy('probe', await watToWasm(probe, 'probe.wat'));
    await functions.deploy('drops-its-segment', await watToWasm(dropsItsSegment, 'drops-its-segment.wat'));
  });
  after(() => invoker.close());

  it('every invocation finds the state instantiation gives, run after run on one worker', async () => {
    for (let i = 0; i < 20; i++) assert.deepEqual(await call('probe', '1'), { ok: true, output: '[1,1,1,1,1,1,1]', logs: 0 }, `run ${i + 1}`);
  });

  it('after a run that grew the memory or trapped, the next one is fresh too', async () => {
    assert.equal((await call('probe', '2')).output, '[1,1,1,1,1,1,1]');
    assert.equal((await call('probe', '1')).output, '[1,1,1,1,1,1,1]');
    assert.equal((await call('probe', '3')).ok, false);
    assert.equal((await call('probe', '1')).output, '[1,1,1,1,1,1,1]');
  });

  it('a module that drops a data segment gets a new instance each time', async () => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await call('drops-its-segment', '1'), { ok: true, output: '"fresh"', logs: 0 }, `run ${i + 1}`);
  });
});
