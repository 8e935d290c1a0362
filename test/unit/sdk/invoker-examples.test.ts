import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anonContext, serviceRoleContext, type RlsContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database } from '../../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker, type TriggerType } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createHostFunctions } from '../../../src/wasm/host/index.js';

// The examples through the real invoker: sandbox pool, fresh instances, limits, and the real host
// functions with db_query on PGlite under row-level security.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const examples = join(root, 'sdk/assemblyscript/examples');
let db: Database;
let invoker: SandboxInvoker;

const user = (): RlsContext => {
  const sub = randomUUID();
  return { role: 'authenticated', sub, claims: { role: 'authenticated', sub } };
};

async function invoke(functionName: string, payload: string, rls: RlsContext, trigger: TriggerType = 'http'): Promise<InvocationRecord> {
  return invoker.invoke({ functionName, payload, trigger, rls });
}

function outputOf(record: InvocationRecord): unknown {
  if (!record.outcome.ok) assert.fail(`${record.function} failed: ${JSON.stringify(record.outcome.error)}`);
  return JSON.parse(record.outcome.output);
}

describe('AssemblyScript examples through the real invoker', () => {
  before(async () => {
    execFileSync('bash', [join(root, 'scripts/build-examples.sh')], { cwd: root, stdio: 'pipe' });
    const config = loadConfig({});
    db = await openDatabase({ config, dataDir: '', logger: silentLogger(), inMemory: true });
    await db.adminScript(readFileSync(join(examples, 'notes/schema.sql'), 'utf8'));
    const functions = createInMemoryFunctions(config.sandbox.defaults);
    for (const name of ['hello', 'echo', 'notes', 'on-note-insert', 'tick']) {
      const manifestPath = join(examples, name, 'aerofn.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { module: string; config: { timeoutMs?: number; memoryMb?: number; verifyJwt?: boolean } };
      const wasm = new Uint8Array(readFileSync(resolve(dirname(manifestPath), manifest.module)));
      const { timeoutMs, memoryMb, verifyJwt } = manifest.config;
      await functions.deploy(name, wasm, { config: { ...(timeoutMs && { timeoutMs }), ...(memoryMb && { memoryMb }), ...(verifyJwt !== undefined && { verifyJwt }) } });
    }
    invoker = createInvoker({
      functions,
      hostFunctions: createHostFunctions({ database: db, httpFetchMaxResponseBytes: config.sandbox.httpFetchMaxResponseBytes, environment: {} }),
      config: { ...config.sandbox, workers: 1 },
      logger: silentLogger(),
    });
    await invoker.ready();
  });

  after(async () => {
    await invoker?.close();
    await db?.close();
  });

  it('hello answers {"message":"Hello, x!"} and journals its log line', async () => {
    const record = await invoke('hello', '{"name":"x"}', anonContext);
    assert.deepEqual(outputOf(record), { message: 'Hello, x!' });
    const logs = record.journal.filter((e) => e.fn === 'log').map((e) => JSON.parse(e.request) as unknown);
    assert.deepEqual(logs, [{ level: 1, message: 'greeting x' }]);
  });

  it('hello greets the world for an empty body (the invoker passes null)', async () => {
    assert.deepEqual(outputOf(await invoke('hello', '', anonContext)), { message: 'Hello, world!' });
  });

  it('echo returns its input unchanged, in a fresh instance each time', async () => {
    for (const payload of ['{"a":[1,2,{"b":"é😀"}]}', JSON.stringify({ blob: 'y'.repeat(200_000) }), '42']) {
      const record = await invoke('echo', payload, anonContext);
      assert.ok(record.outcome.ok);
      assert.equal(record.outcome.output, payload);
    }
  });

  it('notes keeps each user\'s notes apart through db_query under RLS', async () => {
    const a = user();
    const b = user();
    outputOf(await invoke('notes', '{"body":"a1"}', a));
    outputOf(await invoke('notes', '{"body":"b1"}', b));
    const listA = outputOf(await invoke('notes', '{"body":"a2"}', a)) as { notes: { body: string }[]; owner: string };
    assert.deepEqual(listA.notes.map((n) => n.body), ['a1', 'a2']);
    assert.equal(listA.owner, a.sub);
    const listB = outputOf(await invoke('notes', 'null', b)) as { notes: { body: string }[] };
    assert.deepEqual(listB.notes.map((n) => n.body), ['b1']);
  });

  it('notes fails as HostFunctionError when the database refuses the insert', async () => {
    // A sub that is not a uuid: auth.uid() is null, so the insert policy (owner = auth.uid()) refuses the row.
    const record = await invoke('notes', '{"body":"x"}', { role: 'authenticated', sub: 'not-a-uuid', claims: { role: 'authenticated', sub: 'not-a-uuid' } });
    assert.equal(record.outcome.ok, false);
    if (!record.outcome.ok) {
      assert.equal(record.outcome.error.kind, 'HostFunctionError');
      assert.match(record.outcome.error.message, /db_query .*row-level security policy for table \\"notes\\"/);
    }
  });

  it('on-note-insert audits a change event as its writer', async () => {
    const a = user();
    const added = outputOf(await invoke('notes', '{"body":"audit me"}', a)) as { inserted: Record<string, unknown> };
    const event = JSON.stringify({ table: 'notes', op: 'INSERT', row: added.inserted });
    const out = outputOf(await invoke('on-note-insert', event, a, 'database')) as { audited: boolean; auditId: string };
    assert.equal(out.audited, true);
    const rows = await db.admin('select actor::text as actor, op from notes_audit where id = $1', [out.auditId]);
    assert.deepEqual(rows.rows, [{ actor: a.sub, op: 'INSERT' }]);
  });

  it('tick returns its schedule timestamp with the host clock', async () => {
    const payload = { timestamp: '2026-11-27T14:00:00.000Z', jobId: 'tick', scheduledAt: '2026-11-27T14:00:00.000Z' };
    const record = await invoke('tick', JSON.stringify(payload), serviceRoleContext, 'schedule');
    const out = outputOf(record) as Record<string, unknown>;
    assert.deepEqual(out, { ...payload, now: record.context.now });
  });
});
