import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import asc from 'assemblyscript/asc';
import fc from 'fast-check';
import { abiProblems } from '../../../sdk/assemblyscript/scripts/build.mjs';
import { GuestAbort, runGuest, wasm, type HostAnswers, type WasmModule } from './guest-host.js';

// The probe (sdk/assemblyscript/tests/probe) exposes every SDK call; compiling it here with the
// examples' asc options tests the SDK exactly as functions get it.
let workDir = '';
let probe: WasmModule;

const call = (request: unknown, answers: HostAnswers = {}) => runGuest(probe, JSON.stringify(request), answers);
const outputOf = (request: unknown, answers: HostAnswers = {}): unknown => JSON.parse(call(request, answers).output ?? 'null');

describe('AssemblyScript SDK', () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'aerofn-sdk-'));
    const outFile = join(workDir, 'probe.wasm');
    const { error, stderr } = await asc.main(['sdk/assemblyscript/tests/probe/index.ts', '--config', 'sdk/assemblyscript/asconfig.json', '--target', 'release', '--outFile', outFile], {});
    if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
    const bytes = readFileSync(outFile);
    assert.deepEqual(abiProblems(bytes), []);
    probe = new wasm.Module(bytes);
  });

  after(() => rmSync(workDir, { recursive: true, force: true }));

  describe('JSON', () => {
    it('serializes any JSON value back to the text JSON.stringify gives', () => {
      fc.assert(
        fc.property(fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 }), (value) => {
          const run = call({ op: 'roundtrip', value });
          assert.equal(run.output, JSON.stringify(value));
        }),
        { numRuns: 300 },
      );
    });

    it('parses whitespace, escapes and surrogate pairs', () => {
      const text = ' { "a" : [ 1 , -2.5e3 , true , false , null ] ,\n\t"b":"\\u00e9\\n\\"\\\\\\/\\ud83d\\ude00" , "c" : { } , "d" : [ ] } ';
      assert.equal(call({ op: 'parse', text }).output, JSON.stringify(JSON.parse(text)).replace('-2500', '-2.5e3'));
    });

    it('keeps number text verbatim, so integers past 2^53 survive', () => {
      assert.equal(call({ op: 'parse', text: '[12345678901234567890123,1E+2,-0,0.1]' }).output, '[12345678901234567890123,1E+2,-0,0.1]');
      assert.deepEqual(outputOf({ op: 'integers', value: 0 }), { asInteger: '0', asNumber: 0 });
      // Sent as text: JavaScript's own JSON would round these to the nearest double first.
      const integerOf = (value: string) => (JSON.parse(runGuest(probe, `{"op":"integers","value":${value}}`).output ?? 'null') as { asInteger: string }).asInteger;
      assert.equal(integerOf('9223372036854775807'), '9223372036854775807');
      assert.equal(integerOf('-9223372036854775808'), '-9223372036854775808');
      assert.equal(integerOf('9007199254740993'), '9007199254740993');
      assert.equal(integerOf('-12.9'), '-12');
      for (const tooBig of ['9223372036854775808', '-9223372036854775809', '1e19', '123456789012345678901234']) {
        assert.throws(() => integerOf(tooBig), (err: unknown) => err instanceof GuestAbort && err.message.includes('does not fit in an i64'), tooBig);
      }
    });

    it('refuses what is not JSON and names the offset', () => {
      for (const text of ['', '{', '[1,]', '{"a" 1}', '01', '1.', '"\\x"', '"a', 'tru', '{"a":1}x', '"\u0001"', '[' .repeat(300) + ']'.repeat(300)]) {
        assert.deepEqual(outputOf({ op: 'validate', text }), { valid: false }, `accepted ${JSON.stringify(text)}`);
      }
      for (const text of ['0', '-0.5e-3', '"\\u0041"', '[[[]]]', '{"":null}', ' true ']) {
        assert.deepEqual(outputOf({ op: 'validate', text }), { valid: true }, `refused ${JSON.stringify(text)}`);
      }
      assert.throws(() => call({ op: 'parse', text: '[1,]' }), (err: unknown) => err instanceof GuestAbort && err.message.startsWith('invalid JSON at offset 3: '));
    });

    it('quotes control characters, quotes and backslashes like JSON.stringify', () => {
      const text = 'a"b\\c\n\r\t\b\f\u0000\u001f é 😀';
      assert.equal(call({ op: 'quote', text }).output, JSON.stringify(text));
    });

    it('builds values from AssemblyScript types with set and push', () => {
      assert.equal(
        call({ op: 'build' }).output,
        '{"s":"replaced","i":-7,"big":9007199254740993,"f":0.25,"whole":3,"nan":null,"t":true,"n":null,"list":["a","b"],"nums":[1.5,-2,0],"nested":[1,{}]}',
      );
    });
  });

  it('the build check refuses a module that imports env.seed (Math.random) or exports more than the ABI', async () => {
    const outFile = join(workDir, 'forbidden.wasm');
    const { error } = await asc.main(['sdk/assemblyscript/tests/forbidden/index.ts', '--config', 'sdk/assemblyscript/asconfig.json', '--target', 'release', '--outFile', outFile], {});
    assert.equal(error, null);
    assert.deepEqual(abiProblems(readFileSync(outFile)), [
      'imports env.seed (function); only aerodb.* and env.abort are allowed',
      'exports "extra", which the ABI does not use',
    ]);
  });

  it('logs at the four levels of the ABI (0 debug … 3 error) as UTF-8', () => {
    const run = call({ op: 'log' });
    assert.equal(run.output, null);
    assert.deepEqual(run.calls.map((c) => [c.fn, c.level, c.request]), [['log', 0, 'd'], ['log', 1, 'i'], ['log', 2, 'w'], ['log', 3, 'e é']]);
  });

  it('db.query sends {"sql","params"} and reads rows and rowCount', () => {
    let request: unknown;
    const out = outputOf(
      { op: 'query', sql: 'select $1::int as n, $2 as s', params: [1, 'x', null, { k: [true] }] },
      { db_query: (r) => ((request = JSON.parse(r)), '{"rows":[{"n":1,"s":"x"}],"rowCount":5}') },
    );
    assert.deepEqual(request, { sql: 'select $1::int as n, $2 as s', params: [1, 'x', null, { k: [true] }] });
    assert.deepEqual(out, { ok: true, rows: [{ n: 1, s: 'x' }], rowCount: 5, errorMessage: '' });
  });

  it('db.query hands back the host error object instead of aborting; db.exec aborts with it', () => {
    const error = '{"error":{"kind":"HostFunctionError","code":"42P01","message":"relation \\"nope\\" does not exist"}}';
    assert.deepEqual(outputOf({ op: 'query', sql: 'select 1 from nope' }, { db_query: () => error }), {
      ok: false, rows: [], rowCount: 0, errorMessage: '42P01: relation "nope" does not exist',
    });
    assert.throws(() => call({ op: 'exec', sql: 'x' }, { db_query: () => error }), (err: unknown) => err instanceof GuestAbort && err.message.includes('db.query failed: 42P01'));
  });

  it('http.fetch sends url, method, headers and body and reads status, headers and body', () => {
    let request: unknown;
    const out = outputOf(
      { op: 'fetch', url: 'https://api.example.com/x', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":1}' },
      { http_fetch: (r) => ((request = JSON.parse(r)), '{"status":201,"headers":{"x-id":"9"},"body":"created"}') },
    );
    assert.deepEqual(request, { url: 'https://api.example.com/x', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":1}' });
    assert.deepEqual(out, { ok: true, status: 201, headers: { 'x-id': '9' }, body: 'created', errorMessage: '' });
  });

  it('http.fetch defaults to GET with no headers and a null body, and reports a refusal', () => {
    let request: unknown;
    const out = outputOf({ op: 'fetch', url: 'http://10.0.0.1/' }, { http_fetch: (r) => ((request = JSON.parse(r)), '{"error":{"message":"host 10.0.0.1 is not on allowedHosts"}}') });
    assert.deepEqual(request, { url: 'http://10.0.0.1/', method: 'GET', headers: {}, body: null });
    assert.deepEqual(out, { ok: false, status: 0, headers: {}, body: '', errorMessage: 'host 10.0.0.1 is not on allowedHosts' });
  });

  it('env.get sends the bare key and reads a value, an empty value, or null for 0', () => {
    const values: Record<string, string> = { API_KEY: 'sëcret', EMPTY: '' };
    const answers = { env: (key: string) => values[key] ?? null };
    assert.deepEqual(outputOf({ op: 'env', key: 'API_KEY' }, answers), { value: 'sëcret' });
    assert.deepEqual(outputOf({ op: 'env', key: 'EMPTY' }, answers), { value: '' });
    assert.deepEqual(outputOf({ op: 'env', key: 'HOME' }, answers), { value: null });
    assert.deepEqual(call({ op: 'env', key: 'HOME' }, answers).calls.map((c) => c.request), ['HOME']);
  });

  it('context() parses every field once and caches it for the invocation', () => {
    const ctx = { invocationId: 'inv-9', function: 'notes', version: 4, trigger: 'database', role: 'authenticated', sub: 'u-1', claims: { role: 'authenticated', sub: 'u-1', email: 'a@b.c' }, attempt: 2, now: 1764252000123 };
    const run = call({ op: 'context' }, { context: () => JSON.stringify(ctx) });
    assert.deepEqual(JSON.parse(run.output ?? 'null'), { ...ctx, cached: true });
    assert.equal(run.calls.filter((c) => c.fn === 'context').length, 1);
  });

  it('context() reads a null sub for the service role', () => {
    const ctx = { invocationId: 'i', function: 'tick', version: 1, trigger: 'schedule', role: 'service_role', sub: null, claims: {}, attempt: 1, now: 5 };
    assert.equal((outputOf({ op: 'context' }, { context: () => JSON.stringify(ctx) }) as { sub: unknown }).sub, null);
  });
});
