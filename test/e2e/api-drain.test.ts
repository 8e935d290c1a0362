import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../../src/auth/index.js';
import { openEmbeddedEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { guestWasm } from './api-harness.js';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../fixtures/wasm/wat-parts.js';

const insertSql = '{"sql":"insert into drain_rows default values returning id","params":[]}';
/** Inserts one row through db_query and answers the database's reply ({"rows":[{"id":…}],…}). */
const inserterWat = `(module
  (import "aerodb" "db_query" (func $db_query (param i32 i32) (result i64)))
  (memory (export "memory") 1)
    (data (i32.const 16) ${JSON.stringify(insertSql)})
    ${bumpAllocator(4096)}
  (func (export "handler") (param i32 i32) (result i64)
    (call $db_query (i32.const 16) (i32.const ${insertSql.length}))))`;

/** Spins ~2 s (10^9 loop turns) and answers null: still running when a short drain bound passes. */
const slowWat = `(module
  (memory (export "memory") 1)
    ${bumpAllocator(4096)}
  (func (export "handler") (param i32 i32) (result i64) (local $i i64)
    (loop $spin
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $spin (i64.lt_u (local.get $i) (i64.const 1000000000))))
    (i64.const 0)))`;

interface StoredInvocation {
  id: string;
  function: string;
  trigger: string;
  input: string;
  attempt: number;
  source: { topic: string; partition: number; offset: number } | null;
  outcome: { ok: true } | { ok: false; error: { kind: string; message: string; details?: { abandoned?: boolean } } };
}

/** Every record on aerofn.invocations of a (stopped) server's data dir. */
async function storedInvocations(dataDir: string): Promise<StoredInvocation[]> {
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  const out: StoredInvocation[] = [];
  try {
    const partitions = await log.partitionCount('aerofn.invocations');
    for (let partition = 0; partition < partitions; partition++) {
      for (let offset = 0; ; ) {
        const records = await log.read('aerofn.invocations', partition, offset, { maxRecords: 1000 });
        if (records.length === 0) break;
        for (const record of records) {
          offset = record.offset + 1;
          out.push(JSON.parse(record.value!.toString('utf8')) as StoredInvocation);
        }
      }
    }
  } finally {
    await log.close();
  }
  return out;
}

const repo = fileURLToPath(new URL('../..', import.meta.url));
const drainTimeoutMs = 3000;

interface Server {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `serve()` of src/main.ts in its own process, as `aerofn serve` runs it; resolves once it logs "aerofn serving". */
async function startServer(dataDir: string, secret: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "const { serve } = await import('./src/main.ts'); await serve();"], {
    cwd: repo,
    env: {
      PATH: process.env['PATH'],
      NODE_NO_WARNINGS: '1',
      AEROFN_DATA_DIR: dataDir,
      AEROFN_HTTP_PORT: '0',
      AEROFN_GRPC_PORT: '0',
      AEROFN_JWT_SECRET: secret,
      AEROFN_WORKERS: '2',
      AEROFN_DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
      AEROFN_LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string; level?: number };
        // Warnings and errors of the server land in the test output, to explain a failure.
        if ((entry.level ?? 0) >= (process.env['DRAIN_DEBUG'] ? 0 : 40)) process.stderr.write(`server: ${line}\n`);
        if (entry.msg === 'aerofn serving' && entry.http !== undefined) resolve(`http://${entry.http}`);
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`the server exited with ${code} before serving`)));
  });
  return { child, baseUrl, exited };
}

async function post(url: string, body: unknown, token?: string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('aerofn serve: SIGTERM drains', () => {
  let dataDir: string;
  const secret = randomBytes(16).toString('hex');
  let token: string;
  let echo: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'aerofn-drain-'));
    token = await mintToken({ secret, role: 'service_role' });
    echo = Buffer.from(await guestWasm('echo')).toString('base64');
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits within the bound under load and loses no acknowledged deploy', async () => {
    const server = await startServer(dataDir, secret);
    assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'echo', wasm: echo, config: { verifyJwt: false } }, token), 201);

    // A stream of invocations and deploys; SIGTERM lands in the middle of it.
    let stopLoad = false;
    const acknowledged: string[] = [];
    const outcomes = new Map<string, number>();
    const count = (key: string): void => {
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };
    const invokeLoop = async (): Promise<void> => {
      while (!stopLoad) {
        try {
          count(String(await post(`${server.baseUrl}/functions/v1/echo`, { n: 1 })));
        } catch {
          count('refused');
          return;
        }
      }
    };
    const deployLoop = async (): Promise<void> => {
      for (let i = 0; !stopLoad; i++) {
        const name = `fn-${i}`;
        try {
          if ((await post(`${server.baseUrl}/functions/v1/deploy`, { name, wasm: echo }, token)) === 201) acknowledged.push(name);
        } catch {
          return;
        }
      }
    };
    const load = Promise.all([...Array.from({ length: 8 }, invokeLoop), deployLoop()]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    stopLoad = true;
    await load;

    assert.equal(exit.code, 0, 'a drained stop exits 0');
    assert.ok(exit.at - signalled < drainTimeoutMs + 3000, `exited ${exit.at - signalled} ms after SIGTERM`);
    assert.ok((outcomes.get('200') ?? 0) > 10, `invocations served before the signal: ${JSON.stringify([...outcomes])}`);
    for (const status of outcomes.keys()) assert.ok(['200', '503', 'refused'].includes(status), `unexpected outcome ${status}`);
    assert.ok(acknowledged.length > 0);

    // Everything acknowledged is there after a restart on the same data.
    const again = await startServer(dataDir, secret);
    try {
      const response = await fetch(`${again.baseUrl}/functions/v1`, { headers: { authorization: `Bearer ${token}` } });
      const names = new Set(((await response.json()) as { functions: Array<{ name: string }> }).functions.map((fn) => fn.name));
      for (const name of ['echo', ...acknowledged]) assert.ok(names.has(name), `${name} was acknowledged but is gone`);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('exits at once on a second signal', async () => {
    const server = await startServer(dataDir, secret);
    const spin = Buffer.from(await guestWasm('loop')).toString('base64');
    assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'spin', wasm: spin, config: { timeoutMs: 60_000, verifyJwt: false } }, token), 201);
    const stuck = post(`${server.baseUrl}/functions/v1/spin`, {}).catch(() => 'refused');
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 130);
    assert.ok(exit.at - second < 1500, `exited ${exit.at - second} ms after the second signal`);
    await stuck;
  });
  it('records the invocations still running at the drain bound as abandoned and runs their events after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-drain-abandon-'));
    const sqlFile = join(dir, 'schema.sql');
    await writeFile(sqlFile, 'create table if not exists drain_rows (id bigserial primary key, at timestamptz default now());\ngrant insert, select on drain_rows to anon, authenticated, service_role;\ngrant usage on sequence drain_rows_id_seq to anon, authenticated, service_role;\n');
    // The slow guest's 1e9 iterations take 0.3-0.65 s of CPU on a quiet machine (TurboFan, or
    // Liftoff before it tiers up): with a 500 ms bound a run seen in flight could finish inside it,
    // and a clean clone's run once recorded both as ok. 100 ms leaves a run seen within the
    // 10 ms poll at least ~150 ms past the bound.
    const shortBound = 100;
    try {
      const server = await startServer(dir, secret, { AEROFN_INIT_SQL: sqlFile, AEROFN_DRAIN_TIMEOUT_MS: String(shortBound) });
      const inserter = Buffer.from(await watToWasm(inserterWat, 'inserter.wat')).toString('base64');
      assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'inserter', wasm: inserter, config: { verifyJwt: false } }, token), 201);
      const slow = Buffer.from(await watToWasm(slowWat, 'slow.wat')).toString('base64');
      const trigger = [{ type: 'database', table: 'drain_rows', operations: ['INSERT'] }];
      assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'slow', wasm: slow, config: { timeoutMs: 120_000 }, triggers: trigger }, token), 201);
      const rows: number[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${server.baseUrl}/functions/v1/inserter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        assert.equal(response.status, 200);
        rows.push(Number(((await response.json()) as { rows: Array<{ id: number | string }> }).rows[0]!.id));
      }
      // Wait until the pipeline runs the slow function (the invoke node has work in flight).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const topology = (await (await fetch(`${server.baseUrl}/topology.json`)).json()) as { nodes: Array<{ name: string; metrics: { inFlight: number } }> };
        if ((topology.nodes.find((node) => node.name === 'invoke')?.metrics.inFlight ?? 0) > 0) break;
        assert.ok(Date.now() < deadline, 'the pipeline never started the slow function');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      const exit = await server.exited;
      assert.equal(exit.code, 0, 'a drained stop exits 0');
      assert.ok(exit.at - signalled < shortBound + 3000, `exited ${exit.at - signalled} ms after SIGTERM (bound ${shortBound} ms)`);

      const before = (await storedInvocations(dir)).filter((record) => record.function === 'slow');
      const abandoned = before.filter((record) => !record.outcome.ok && record.outcome.error.details?.abandoned === true);
      assert.ok(abandoned.length > 0, `no abandoned record among ${JSON.stringify(before.map((r) => r.outcome))}`);
      for (const record of abandoned) {
        assert.ok(!record.outcome.ok);
        assert.equal(record.outcome.error.kind, 'Unavailable');
        assert.match(record.outcome.error.message, /^abandoned at shutdown: the drain bound \(100 ms\) passed while attempt 1 was running; the source event stays uncommitted and is redelivered/);
        assert.equal(record.attempt, 1);
        assert.equal(record.source?.topic, 'aerodb.changes');
        assert.ok(rows.includes((JSON.parse(record.input) as { row: { id: number } }).row.id));
      }

      // After a restart the abandoned events come again (same invocation ids) and finish.
      const again = await startServer(dir, secret, { AEROFN_INIT_SQL: sqlFile });
      try {
        // Three runs of 0.3-0.65 s of CPU each on two workers, at nice 10 once they pass SLOW_JOB_MS:
        // on a 2-vCPU machine busy with another test file that took over 90 s once, hence the margin.
        const waitUntil = Date.now() + 150_000;
        let after: StoredInvocation[] = [];
        for (;;) {
          const response = await fetch(`${again.baseUrl}/functions/v1/slow/invocations?limit=100`, { headers: { authorization: `Bearer ${token}` } });
          const listed = ((await response.json()) as { invocations: StoredInvocation[] }).invocations;
          after = listed.filter((record) => record.outcome.ok);
          if (rows.every((id) => after.some((record) => (JSON.parse(record.input) as { row: { id: number } }).row.id === id))) break;
          assert.ok(Date.now() < waitUntil, `rows ${JSON.stringify(rows)} not all processed after the restart: ${after.length} ok records`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for (const record of abandoned) assert.ok(after.some((done) => done.id === record.id), `abandoned ${record.id} did not run again under the same id`);
      } finally {
        // Also on a failed assertion: a server left running would hold the file open to its timeout.
        again.child.kill('SIGTERM');
      }
      assert.equal((await again.exited).code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('records a REST invocation still running at the drain bound as abandoned (trigger http, no source)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-drain-rest-'));
    const shortBound = 500;
    try {
      const server = await startServer(dir, secret, { AEROFN_DRAIN_TIMEOUT_MS: String(shortBound) });
      const spin = Buffer.from(await guestWasm('loop')).toString('base64');
      assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'spin', wasm: spin, config: { timeoutMs: 60_000, verifyJwt: false } }, token), 201);
      const stuck = post(`${server.baseUrl}/functions/v1/spin`, { n: 1 }).catch(() => 'refused');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      const exit = await server.exited;
      await stuck;
      assert.equal(exit.code, 0);
      assert.ok(exit.at - signalled < shortBound + 3000, `exited ${exit.at - signalled} ms after SIGTERM (bound ${shortBound} ms)`);
      const records = (await storedInvocations(dir)).filter((record) => record.function === 'spin');
      assert.equal(records.length, 1, JSON.stringify(records.map((r) => r.outcome)));
      const [record] = records;
      assert.ok(record !== undefined && !record.outcome.ok);
      assert.equal(record.outcome.error.kind, 'Unavailable');
      assert.equal(record.outcome.error.details?.abandoned, true);
      assert.match(record.outcome.error.message, /^abandoned at shutdown: the drain bound \(500 ms\) passed while it was running; the caller's connection was closed/);
      assert.equal(record.source, null);
      assert.equal(record.trigger, 'http');
      assert.deepEqual(JSON.parse(record.input), { n: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loses no accepted change event: every row inserted before SIGTERM reaches its database trigger', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-drain-cdc-'));
    const sqlFile = join(dir, 'schema.sql');
    await writeFile(sqlFile, 'create table if not exists drain_rows (id bigserial primary key, at timestamptz default now());\ngrant insert, select on drain_rows to anon, authenticated, service_role;\ngrant usage on sequence drain_rows_id_seq to anon, authenticated, service_role;\n');
    const env = { AEROFN_INIT_SQL: sqlFile };
    try {
      const server = await startServer(dir, secret, env);
      const inserter = Buffer.from(await watToWasm(inserterWat, 'inserter.wat')).toString('base64');
      assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'inserter', wasm: inserter, config: { verifyJwt: false } }, token), 201);
      const trigger = [{ type: 'database', table: 'drain_rows', operations: ['INSERT'] }];
      assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'on-row', wasm: echo, triggers: trigger }, token), 201);

      const acknowledged = new Set<number>();
      let stopLoad = false;
      const insertLoop = async (): Promise<void> => {
        while (!stopLoad) {
          try {
            const response = await fetch(`${server.baseUrl}/functions/v1/inserter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
            const body = (await response.json()) as { rows?: Array<{ id: number | string }> };
            if (response.status === 200 && body.rows?.[0] !== undefined) acknowledged.add(Number(body.rows[0].id));
          } catch {
            return;
          }
        }
      };
      const load = Promise.all(Array.from({ length: 4 }, insertLoop));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      server.child.kill('SIGTERM');
      const exit = await server.exited;
      stopLoad = true;
      await load;
      assert.equal(exit.code, 0);
      assert.ok(acknowledged.size > 5, `rows inserted before the signal: ${acknowledged.size}`);

      // After a restart the pipeline resumes from its committed offsets (and the relay from the outbox).
      const again = await startServer(dir, secret, env);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      again.child.kill('SIGTERM');
      await again.exited;

      const seen = new Set<number>();
      for (const invocation of await storedInvocations(dir)) {
        if (invocation.function === 'on-row' && invocation.outcome.ok) seen.add(Number((JSON.parse(invocation.input) as { row: { id: number } }).row.id));
      }
      const missing = [...acknowledged].filter((id) => !seen.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.size} acknowledged rows never reached on-row`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
