import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RlsContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { DatabaseError, openDatabase, type Database } from '../../../src/db/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { runGuest, wasm, type WasmModule } from './guest-host.js';

// The notes examples against a real database (PGlite in memory) with the Supabase roles and
// auth.uid(). The test host answers synchronously, the database asynchronously, so each run is
// done the way a replay works: record the guest's statements, run them for real in order, then run
// the guest again on the real answers and check it asked for exactly the same statements.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const examples = join(root, 'sdk/assemblyscript/examples');
let db: Database;
const modules = new Map<string, WasmModule>();

const userContext = (sub: string): RlsContext => ({ role: 'authenticated', sub, claims: { role: 'authenticated', sub } });
const guestContext = (rls: RlsContext) =>
  JSON.stringify({ invocationId: randomUUID(), function: 'notes', version: 1, trigger: 'http', role: rls.role, sub: rls.sub, claims: rls.claims, attempt: 1, now: Date.now() });

async function answer(request: string, rls: RlsContext): Promise<string> {
  const { sql, params } = JSON.parse(request) as { sql: string; params: unknown[] };
  try {
    const result = await db.query(sql, params, rls);
    return JSON.stringify({ rows: result.rows, rowCount: result.rowCount });
  } catch (error) {
    if (!(error instanceof DatabaseError)) throw error;
    return JSON.stringify({ error: { code: error.code, message: error.message } });
  }
}

/** Runs `name` as `rls` with its db_query statements executed for real; returns the output. */
async function invoke(name: string, input: string, rls: RlsContext): Promise<unknown> {
  const module = modules.get(name);
  if (module === undefined) throw new Error(`${name} was not built`);
  const context = () => guestContext(rls);
  const answers: string[] = [];
  for (;;) {
    // Statements past the ones answered so far get an empty result; the loop runs them for real.
    const queue = [...answers];
    const run = runGuest(module, input, { context, db_query: () => queue.shift() ?? '{"rows":[{}],"rowCount":0}' });
    const requests = run.calls.filter((c) => c.fn === 'db_query').map((c) => c.request);
    if (requests.length === answers.length) return JSON.parse(run.output ?? 'null');
    answers.push(await answer(requests[answers.length]!, rls));
  }
}

describe('notes examples on PGlite under row-level security', () => {
  before(async () => {
    execFileSync('bash', [join(root, 'scripts/build-examples.sh')], { cwd: root, stdio: 'pipe' });
    for (const name of ['notes', 'on-note-insert']) modules.set(name, new wasm.Module(readFileSync(join(root, `sdk/assemblyscript/build/${name}.wasm`))));
    db = await openDatabase({ config: loadConfig({}), dataDir: '', logger: silentLogger(), inMemory: true });
    const schema = readFileSync(join(examples, 'notes/schema.sql'), 'utf8');
    await db.adminScript(schema);
    await db.adminScript(schema); // the dev setup may run it on every start
  });

  after(async () => {
    await db?.close();
  });

  it('adds a note for the caller and lists only the caller\'s notes', async () => {
    const a = userContext(randomUUID());
    const b = userContext(randomUUID());
    const first = (await invoke('notes', '{"body":"a1"}', a)) as { inserted: { owner: string; body: string }; notes: { body: string }[]; count: number; owner: string };
    assert.equal(first.inserted.owner, a.sub);
    assert.equal(first.inserted.body, 'a1');
    await invoke('notes', '{"body":"b1"}', b);
    await invoke('notes', '{"body":"a2"}', a);
    const listA = (await invoke('notes', '{}', a)) as { notes: { body: string }[]; count: number; owner: string };
    assert.deepEqual(listA.notes.map((n) => n.body), ['a1', 'a2']);
    assert.equal(listA.count, 2);
    assert.equal(listA.owner, a.sub);
    const listB = (await invoke('notes', '{}', b)) as { notes: { body: string }[] };
    assert.deepEqual(listB.notes.map((n) => n.body), ['b1']);
    const all = await db.admin('select count(*)::int as n from notes where owner = any($1::uuid[])', [[a.sub, b.sub]]);
    assert.equal(all.rows[0]?.['n'], 3);
  });

  it('on-note-insert writes an audit row as the note\'s writer, visible to that writer only', async () => {
    const a = userContext(randomUUID());
    const added = (await invoke('notes', '{"body":"audited"}', a)) as { inserted: Record<string, unknown> };
    const event = JSON.stringify({ table: 'notes', op: 'INSERT', row: added.inserted });
    const out = (await invoke('on-note-insert', event, a)) as { audited: boolean; auditId: string; noteId: unknown };
    assert.equal(out.audited, true);
    assert.equal(out.noteId, added.inserted['id']);
    const audit = await db.admin('select note_id::text as note_id, op, actor::text as actor, row->>\'body\' as body from notes_audit where id = $1', [out.auditId]);
    assert.deepEqual(audit.rows, [{ note_id: String(added.inserted['id']), op: 'INSERT', actor: a.sub, body: 'audited' }]);
    const seenByOther = await db.query('select count(*)::int as n from notes_audit', [], userContext(randomUUID()));
    assert.equal(seenByOther.rows[0]?.['n'], 0);
  });

  it('refuses a note for someone else: the insert policy checks owner = auth.uid()', async () => {
    const a = userContext(randomUUID());
    const result = await answer(JSON.stringify({ sql: 'insert into notes (owner, body) values ($1, $2)', params: [randomUUID(), 'forged'] }), a);
    assert.match(result, /row-level security/);
  });
});
