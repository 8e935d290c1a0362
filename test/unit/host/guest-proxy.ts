import { watToWasm } from '../../fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../../fixtures/wasm/wat-parts.js';

/**
 * A guest that forwards its input to one host function and returns the answer, so tests drive
 * db_query / http_fetch / env through the real sandbox. Input (valid JSON, as the invoker wants):
 * `[op,request]` with op 1 db_query, 2 http_fetch, 3 env (request is a JSON string; its quotes are
 * dropped); op 4–6 do the same and then trap.
 */
export const proxyWat = `
(module
  (import "aerodb" "db_query" (func $db_query (param i32 i32) (result i64)))
  (import "aerodb" "http_fetch" (func $http_fetch (param i32 i32) (result i64)))
  (import "aerodb" "env" (func $env (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  ${bumpAllocator(1024)}
  (func (export "handler") (param $ptr i32) (param $len i32) (result i64)
    (local $op i32) (local $kind i32) (local $start i32) (local $n i32) (local $out i64)
    (local.set $op (i32.sub (i32.load8_u offset=1 (local.get $ptr)) (i32.const 49)))
    (local.set $kind (i32.rem_u (local.get $op) (i32.const 3)))
    (local.set $start (i32.add (local.get $ptr) (i32.const 3)))
    (local.set $n (i32.sub (local.get $len) (i32.const 4)))
    (if (i32.eq (local.get $kind) (i32.const 2))
      (then
        (local.set $start (i32.add (local.get $start) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 2)))))
    (if (i32.eq (local.get $kind) (i32.const 0)) (then (local.set $out (call $db_query (local.get $start) (local.get $n)))))
    (if (i32.eq (local.get $kind) (i32.const 1)) (then (local.set $out (call $http_fetch (local.get $start) (local.get $n)))))
    (if (i32.eq (local.get $kind) (i32.const 2)) (then (local.set $out (call $env (local.get $start) (local.get $n)))))
    (if (i32.ge_u (local.get $op) (i32.const 3)) (then unreachable))
    (local.get $out)))
`;

export const proxyWasm = (): Promise<Uint8Array> => watToWasm(proxyWat, 'host-proxy.wat');

export const dbCall = (sql: string, params: unknown[] = [], trap = false): string => `[${trap ? 4 : 1},${JSON.stringify({ sql, params })}]`;
export const fetchCall = (request: Record<string, unknown>): string => `[2,${JSON.stringify(request)}]`;
export const envCall = (key: string): string => `[3,${JSON.stringify(key)}]`;
