import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RlsContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database } from '../../../src/db/index.js';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { invocationAppendRecord } from '../../../src/pipeline/index.js';
import { createInMemoryFunctions, createInvoker, type InMemoryFunctions, type InvocationRecord, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createReplayer, findInvocationRecords, type ReplayEvent, type ReplayFinding } from '../../../src/replay/index.js';
import { createHostFunctions } from '../../../src/wasm/host/index.js';
import { compileFixture } from '../../fixtures/wasm/compile-fixture.js';
import { dbCall, envCall, proxyWasm } from '../host/guest-proxy.js';

/**
 * Replay against real runs: a real sandbox records them with PGlite, the environment and the
 * guest's context behind its host calls; the replayer runs them again from their journals.
 */
describe('replay (recorded runs executed again from their journals)', () => {
  const sandbox = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
  let db: Database;
  let functions: InMemoryFunctions;
  let live: SandboxInvoker;
  const user = randomUUID();
  const asUser: RlsContext = { role: 'authenticated', sub: user, claims: { role: 'authenticated', sub: user } };
  const environment = { GREETING: 'hello' };
  const recorded: InvocationRecord[] = [];
  const records = async (name: string, limit: number): Promise<InvocationRecord[]> => recorded.filter((record) => record.function === name).reverse().slice(0, limit);
  const hostFunctions = (): ReturnType<typeof createHostFunctions> => createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, environment });
  const replayer = () => createReplayer({ functions, records, sandbox, liveEnv: hostFunctions().env!, logger: silentLogger() });
  const run = async (name: string, payload: string): Promise<InvocationRecord> => {
    const record = await live.invoke({ functionName: name, payload, trigger: 'http', rls: asUser });
    recorded.push(record);
    return record;
  };

  before(async () => {
    db = await openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread: false } }, dataDir: '', inMemory: true, logger: silentLogger() });
    await db.adminScript(`create table ledger (id serial primary key, note text);
      grant select, insert on ledger to authenticated; grant usage on sequence ledger_id_seq to authenticated;`);
    functions = createInMemoryFunctions(sandbox.defaults);
    live = createInvoker({ functions, hostFunctions: hostFunctions(), config: sandbox, logger: silentLogger() });
    await functions.deploy('proxy', await proxyWasm(), { config: { allowedEnv: ['GREETING'] } });
    await functions.deploy('whoami', await compileFixture('context'));
    await live.ready();
  });
  after(async () => {
    await live.close();
    await db.close();
  });

  it('matches every run of a deterministic function and writes nothing again', async () => {
    const insert = await run('proxy', dbCall("insert into ledger (note) values ('once') returning id, note"));
    assert.equal(insert.outcome.ok, true, JSON.stringify(insert.outcome));
    await run('proxy', dbCall('select count(*)::int as n from ledger'));
    await run('proxy', envCall('GREETING'));
    await run('whoami', '{}');
    const events: ReplayEvent[] = [];
    const summary = await replayer().replay({ name: 'proxy' }, (event) => events.push(event));
    assert.deepEqual(summary, { name: 'proxy', against: 'recorded', total: 3, matched: 3, diverged: 0, skipped: 0 });
    assert.deepEqual(events.map((event) => event.type), ['started', 'finding', 'finding', 'finding', 'summary']);
    const findings = events.flatMap((event) => (event.type === 'finding' ? [event.finding] : []));
    // Oldest first, each the record it replayed.
    assert.deepEqual(findings.map((finding) => finding.invocationId), recorded.filter((r) => r.function === 'proxy').map((r) => r.id));
    assert.ok(findings.every((finding) => finding.verdict === 'match' && finding.differences.length === 0), JSON.stringify(findings));
    // The insert was answered from the journal: the table still has its one row.
    assert.equal((await db.admin('select count(*)::int as n from ledger')).rows[0]?.['n'], 1);
    // The guest saw the recorded context again (its id and time), not one made now.
    const whoami = await replayer().replay({ name: 'whoami' });
    assert.equal(whoami.matched, 1);
  });

  it('finds a record whose output does not follow from its journal', async () => {
    const honest = await run('proxy', dbCall("select 'paid' as status"));
    assert.equal(honest.outcome.ok, true);
    // A record changed after the fact: the journal says the database answered "refunded".
    const tampered: InvocationRecord = { ...honest, id: randomUUID(), journal: honest.journal.map((entry) => (entry.fn === 'db_query' ? { ...entry, response: (entry.response ?? '').replace('paid', 'refunded') } : entry)) };
    recorded.push(tampered);
    const findings: ReplayFinding[] = [];
    await replayer().replay({ name: 'proxy', invocationIds: [honest.id, tampered.id] }, (event) => event.type === 'finding' && findings.push(event.finding));
    assert.deepEqual(findings.map((finding) => finding.verdict), ['match', 'diverged']);
    assert.match(findings[1]?.differences[0] ?? '', /^output: recorded .*paid.*, replayed .*refunded/);
  });

  it('replays old inputs against the current version and names the first call that differs', async () => {
    const before = await run('proxy', dbCall('select 1 as one'));
    assert.equal(before.outcome.ok, true);
    // Version 2 answers every input itself: no host call, another output.
    await functions.deploy('proxy', await compileFixture('echo'), { config: { allowedEnv: ['GREETING'] } });
    try {
      const findings: ReplayFinding[] = [];
      const summary = await replayer().replay({ name: 'proxy', invocationIds: [before.id], against: 'current' }, (event) => event.type === 'finding' && findings.push(event.finding));
      assert.equal(summary.diverged, 1);
      const [finding] = findings;
      assert.equal(finding?.recordedVersion, 1);
      assert.equal(finding?.replayedVersion, 2);
      assert.match(finding?.differences[0] ?? '', /^the recorded run made 1 more host call\(s\), starting with db_query /);
      assert.ok(finding?.differences.some((difference) => difference.startsWith('output: ')));
      // Against the recorded version the same run still matches: version 1 is kept.
      const again = await replayer().replay({ name: 'proxy', invocationIds: [before.id] });
      assert.equal(again.matched, 1);
    } finally {
      await functions.deploy('proxy', await proxyWasm(), { config: { allowedEnv: ['GREETING'] } });
    }
  });

  it('stops a replay that leaves the recorded path at the first unrecorded host call', async () => {
    const original = await run('proxy', dbCall('select 2 as two'));
    // The same run, recorded as if the guest had asked for something else.
    const other: InvocationRecord = { ...original, id: randomUUID(), journal: original.journal.map((entry) => (entry.fn === 'db_query' ? { ...entry, request: entry.request.replace('2 as two', '3 as three') } : entry)) };
    recorded.push(other);
    const findings: ReplayFinding[] = [];
    await replayer().replay({ name: 'proxy', invocationIds: [other.id] }, (event) => event.type === 'finding' && findings.push(event.finding));
    assert.equal(findings[0]?.verdict, 'diverged');
    assert.match(findings[0]?.differences[0] ?? '', /^host call 1: the replay called db_query .*2 as two.*; the recorded run called db_query .*3 as three/);
    assert.equal(findings[0]?.replayed?.ok, false);
  });

  it('replays retries of one event (one invocation id) one after another, each against its journal', async () => {
    const id = randomUUID();
    const attempts: InvocationRecord[] = [];
    for (const [attempt, sql] of [[1, "select 'first' as try"], [2, "select 'second' as try"]] as const) {
      const record = await live.invoke({ functionName: 'proxy', payload: dbCall(sql), trigger: 'database', rls: asUser, invocationId: id, attempt });
      recorded.push(record);
      attempts.push(record);
    }
    const findings: ReplayFinding[] = [];
    await replayer().replay({ name: 'proxy', invocationIds: [id] }, (event) => event.type === 'finding' && findings.push(event.finding));
    assert.deepEqual(findings.map((finding) => [finding.attempt, finding.verdict]), [[1, 'match'], [2, 'match']]);
  });

  it('finds runs the recent list no longer holds on the invocations topic, every attempt, oldest first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-replay-log-'));
    const log = await openEmbeddedEventLog({ dataDir: dir, logger: silentLogger(), fsync: false });
    try {
      const topic = 'aerofn.invocations';
      await log.ensureTopic({ name: topic, partitions: 3 });
      const id = randomUUID();
      const runs = [
        await live.invoke({ functionName: 'proxy', payload: dbCall("select 'old' as era"), trigger: 'database', rls: asUser, invocationId: id, attempt: 1 }),
        await live.invoke({ functionName: 'whoami', payload: '{}', trigger: 'http', rls: asUser }),
        await live.invoke({ functionName: 'proxy', payload: dbCall("select 'old' as era, 2 as try"), trigger: 'database', rls: asUser, invocationId: id, attempt: 2 }),
        await live.invoke({ functionName: 'proxy', payload: dbCall('select 1'), trigger: 'http', rls: asUser }),
      ];
      // As the pipeline's sink writes them: keyed by function, the id in a header.
      await log.append(topic, runs.map(invocationAppendRecord));
      const fromLog = createReplayer({ functions, records: async () => [], findRecords: (name, ids, signal) => findInvocationRecords(log, topic, name, ids, signal), sandbox, logger: silentLogger() });
      const findings: ReplayFinding[] = [];
      const summary = await fromLog.replay({ name: 'proxy', invocationIds: [id] }, (event) => event.type === 'finding' && findings.push(event.finding));
      assert.equal(summary.matched, 2);
      assert.deepEqual(findings.map((finding) => [finding.invocationId, finding.attempt]), [[id, 1], [id, 2]]);
      await assert.rejects(fromLog.replay({ name: 'proxy', invocationIds: ['never-ran'] }), (error: Error & { kind?: string }) => error.kind === 'NotFound' && /on the invocations topic/.test(error.message));
      assert.deepEqual(await findInvocationRecords(log, 'no-such-topic', 'proxy', [id]), []);
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips runs that did not finish, and refuses queries it cannot run', async () => {
    const abandoned: InvocationRecord = { ...recorded[0]!, id: randomUUID(), outcome: { ok: false, error: { kind: 'Unavailable', code: 'AEROFN_UNAVAILABLE', httpStatus: 503, message: 'abandoned at shutdown' } } };
    recorded.push(abandoned);
    const findings: ReplayFinding[] = [];
    await replayer().replay({ name: 'proxy', invocationIds: [abandoned.id] }, (event) => event.type === 'finding' && findings.push(event.finding));
    assert.equal(findings[0]?.verdict, 'skipped');
    assert.match(findings[0]?.differences[0] ?? '', /did not finish/);
    await assert.rejects(replayer().replay({ name: 'proxy', invocationIds: ['no-such-id'] }), (error: Error & { kind?: string }) => error.kind === 'NotFound' && /aerofn invocations proxy/.test(error.message));
    await assert.rejects(replayer().replay({ name: 'proxy', limit: 0 }), (error: Error & { kind?: string }) => error.kind === 'BadRequest');
    await assert.rejects(replayer().replay({ name: 'proxy', invocationIds: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }), (error: Error & { kind?: string }) => error.kind === 'BadRequest' && /at most 1000 invocation ids/.test(error.message));
    await assert.rejects(replayer().replay({ name: 'gone', against: 'current' }), (error: Error & { kind?: string }) => error.kind === 'NotFound');
  });

  it('runs at most maxConcurrent replays at once and refuses more with Unavailable (retriable)', async () => {
    const bounded = createReplayer({ functions, records, sandbox, logger: silentLogger(), maxConcurrent: 1 });
    const first = bounded.replay({ name: 'proxy', limit: 2 });
    await assert.rejects(bounded.replay({ name: 'proxy', limit: 2 }), (error: Error & { kind?: string }) => error.kind === 'Unavailable' && /1 replays are running/.test(error.message));
    assert.equal((await first).total, 2);
    // Once it finished, the next one runs.
    assert.equal((await bounded.replay({ name: 'proxy', limit: 1 })).total, 1);
  });
});
