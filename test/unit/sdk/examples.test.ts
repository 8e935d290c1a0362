import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abiProblems } from '../../../sdk/assemblyscript/scripts/build.mjs';
import { loadConfig } from '../../../src/config/index.js';
import { defaultRetryPolicy, validateDeployInput } from '../../../src/registry/index.js';
import { checkModule } from '../../../src/wasm/index.js';
import { GuestAbort, runGuest, wasm, type HostCall, type WasmModule } from './guest-host.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const examplesDir = join(root, 'sdk/assemblyscript/examples');
const buildDir = join(root, 'sdk/assemblyscript/build');
const exampleNames = readdirSync(examplesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

const modules = new Map<string, WasmModule>();
const moduleOf = (name: string): WasmModule => {
  const m = modules.get(name);
  if (m === undefined) throw new Error(`${name}.wasm was not loaded`);
  return m;
};

const contextJson = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ invocationId: 'inv-1', function: 'f', version: 3, trigger: 'http', role: 'authenticated', sub: 'user-a', claims: { role: 'authenticated', sub: 'user-a' }, attempt: 1, now: 1_700_000_000_123, ...over });

const logsOf = (calls: readonly HostCall[]) => calls.filter((c) => c.fn === 'log').map((c) => [c.level, c.request]);
const queriesOf = (calls: readonly HostCall[]) => calls.filter((c) => c.fn === 'db_query').map((c) => JSON.parse(c.request) as { sql: string; params: unknown[] });

describe('AssemblyScript examples', () => {
  before(() => {
    execFileSync('bash', [join(root, 'scripts/build-examples.sh')], { cwd: root, stdio: 'pipe' });
    for (const name of exampleNames) {
      const file = join(buildDir, `${name}.wasm`);
      if (existsSync(file)) modules.set(name, new wasm.Module(readFileSync(file)));
    }
  });

  it('has the five examples the docs and `make run` use', () => {
    assert.deepEqual(exampleNames, ['echo', 'hello', 'notes', 'on-note-insert', 'tick']);
  });

  for (const name of exampleNames) {
    it(`builds ${name} into sdk/assemblyscript/build/${name}.wasm with exactly the ABI exports and allowed imports`, () => {
      const file = join(buildDir, `${name}.wasm`);
      assert.ok(existsSync(file), `${file} is missing after scripts/build-examples.sh`);
      const module = moduleOf(name);
      assert.deepEqual(wasm.Module.exports(module).map((e) => `${e.name}:${e.kind}`).sort(), ['alloc:function', 'handler:function', 'memory:memory']);
      for (const imp of wasm.Module.imports(module)) {
        assert.ok(imp.module === 'aerodb' || (imp.module === 'env' && imp.name === 'abort'), `${name} imports ${imp.module}.${imp.name}`);
      }
      assert.deepEqual(abiProblems(readFileSync(file)), []);
    });

    it(`has a manifest for ${name} whose module points at the build output`, () => {
      const manifestPath = join(examplesDir, name, 'aerofn.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; module: string; config: object; triggers: { type: string }[] };
      assert.deepEqual(Object.keys(manifest).sort(), ['config', 'module', 'name', 'triggers']);
      assert.equal(manifest.name, name);
      assert.equal(resolve(dirname(manifestPath), manifest.module), join(buildDir, `${name}.wasm`));
      assert.ok(manifest.triggers.length > 0);
      for (const t of manifest.triggers) assert.ok(['http', 'database', 'schedule'].includes(t.type), t.type);
    });

    it(`deploys ${name} as its manifest says: the registry accepts name, config and triggers with the built module`, () => {
      const manifestPath = join(examplesDir, name, 'aerofn.json');
      const { module, ...body } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { module: string };
      const wasmBytes = new Uint8Array(readFileSync(resolve(dirname(manifestPath), module)));
      const deployed = validateDeployInput({ ...body, wasm: wasmBytes }, { sandbox: loadConfig({}).sandbox.defaults, retry: defaultRetryPolicy });
      assert.equal(deployed.name, name);
      // The sandbox's own load-time check (signatures, imports, memory under the manifest's memoryMb).
      const checked = checkModule(wasmBytes, { memoryMb: deployed.config.memoryMb });
      assert.equal(checked.importsAbort, true);
      assert.ok(checked.memory.initialPages * 64 <= deployed.config.memoryMb * 1024);
    });
  }

  it('rebuilds nothing when the outputs are newer than the sources', () => {
    const out = execFileSync('bash', [join(root, 'scripts/build-examples.sh')], { cwd: root, encoding: 'utf8' });
    assert.match(out, /up to date/);
  });

  it('hello greets the name from the request body and logs at info', () => {
    const run = runGuest(moduleOf('hello'), '{"name":"x"}');
    assert.equal(run.output, '{"message":"Hello, x!"}');
    assert.deepEqual(logsOf(run.calls), [[1, 'greeting x']]);
  });

  it('hello keeps non-ASCII names and escapes quotes in its JSON output', () => {
    const name = 'Zoë "the" 😀\n';
    const run = runGuest(moduleOf('hello'), JSON.stringify({ name }));
    assert.deepEqual(JSON.parse(run.output ?? 'null'), { message: `Hello, ${name}!` });
  });

  it('hello greets the world when the body is empty', () => {
    assert.equal(runGuest(moduleOf('hello'), '').output, '{"message":"Hello, world!"}');
  });

  it('hello aborts with the offset when the body is not JSON', () => {
    assert.throws(() => runGuest(moduleOf('hello'), '{"name":'), (err: unknown) => err instanceof GuestAbort && /invalid JSON at offset 8/.test(err.message));
  });

  it('echo returns its input byte for byte', () => {
    for (const input of ['{"a":1}', '[1,2,3]', '"😀 é"', JSON.stringify({ big: 'x'.repeat(100_000) })]) {
      assert.equal(runGuest(moduleOf('echo'), input).output, input);
    }
  });

  it('echo returns null (packed 0) for an empty input', () => {
    assert.equal(runGuest(moduleOf('echo'), '').output, null);
  });

  it('notes inserts for the caller, then lists through RLS, as the host answered', () => {
    const inserted = { id: 7, owner: 'user-a', body: 'hi', created_at: '2026-01-01T00:00:00Z' };
    const run = runGuest(moduleOf('notes'), '{"body":"hi"}', {
      context: () => contextJson(),
      db_query: (request) => {
        const { sql } = JSON.parse(request) as { sql: string };
        if (sql.startsWith('insert')) return JSON.stringify({ rows: [inserted], rowCount: 1 });
        return JSON.stringify({ rows: [{ id: 7, body: 'hi', created_at: inserted.created_at }], rowCount: 1 });
      },
    });
    const queries = queriesOf(run.calls);
    assert.equal(queries.length, 2);
    assert.match(queries[0]!.sql, /^insert into notes \(body\) values \(\$1\)/);
    assert.deepEqual(queries[0]!.params, ['hi']);
    assert.match(queries[1]!.sql, /^select .* from notes/);
    assert.deepEqual(queries[1]!.params, []);
    assert.deepEqual(JSON.parse(run.output ?? 'null'), { inserted, owner: 'user-a', notes: [{ id: 7, body: 'hi', created_at: inserted.created_at }], count: 1 });
  });

  it('notes aborts with the database message when a statement fails', () => {
    const answer = JSON.stringify({ error: { code: '42501', message: 'new row violates row-level security policy' } });
    assert.throws(
      () => runGuest(moduleOf('notes'), '{"body":"hi"}', { context: () => contextJson(), db_query: () => answer }),
      (err: unknown) => err instanceof GuestAbort && err.message.includes('db.query failed: 42501: new row violates row-level security policy'),
    );
  });

  it('notes tells an anonymous caller to sign in without touching the database', () => {
    const run = runGuest(moduleOf('notes'), '{}', { context: () => contextJson({ role: 'anon', sub: null }) });
    assert.match(JSON.parse(run.output ?? 'null').error as string, /sign in first/);
    assert.equal(queriesOf(run.calls).length, 0);
  });

  it('on-note-insert writes an audit row with the note id verbatim, even past 2^53', () => {
    const event = '{"table":"notes","op":"INSERT","row":{"id":9007199254740993,"owner":"user-a","body":"hi"}}';
    const run = runGuest(moduleOf('on-note-insert'), event, {
      context: () => contextJson({ trigger: 'database' }),
      db_query: () => '{"rows":[{"id":41}],"rowCount":1}',
    });
    const [call] = run.calls.filter((c) => c.fn === 'db_query');
    assert.ok(call);
    assert.match(call.request, /"params":\[9007199254740993,"INSERT","user-a","/);
    const params = (JSON.parse(call.request) as { params: unknown[] }).params;
    assert.deepEqual(JSON.parse(params[3] as string), { id: 9007199254740993, owner: 'user-a', body: 'hi' });
    assert.equal(run.output, '{"audited":true,"auditId":41,"noteId":9007199254740993}');
    assert.deepEqual(logsOf(run.calls), [[1, 'INSERT on notes: note 9007199254740993']]);
  });

  it('tick returns the schedule timestamp and logs the run', () => {
    const payload = { timestamp: '2026-11-27T14:00:00.000Z', jobId: 'tick', scheduledAt: '2026-11-27T14:00:00.000Z' };
    const run = runGuest(moduleOf('tick'), JSON.stringify(payload), { context: () => contextJson({ trigger: 'schedule', role: 'service_role', sub: null }) });
    assert.deepEqual(JSON.parse(run.output ?? 'null'), { ...payload, now: 1_700_000_000_123 });
    assert.deepEqual(logsOf(run.calls), [[1, 'tick 2026-11-27T14:00:00.000Z (attempt 1)']]);
  });
});
