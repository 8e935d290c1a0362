import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createChangeRelay, openDatabase, type ChangeRelay, type Database } from '../../src/db/index.js';
import { openEventLog, type EventLog } from '../../src/eventlog/index.js';
import type { InvocationRecord } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createStreamThreads, type DeadLetter, type FunctionMetricsSnapshot, type InvocationSummary, type RunningPipeline } from '../../src/pipeline/index.js';
import { createRegistry, defaultRetryPolicy, type Registry } from '../../src/registry/index.js';
import { createHostFunctions } from '../../src/wasm/host/index.js';
import { compileFixture, watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { readValues, waitFor } from '../unit/pipeline/harness.js';
import { dbQueryGuestWat } from '../fixtures/wasm/wat-parts.js';

/**
 * The pipeline in two stream threads (docs/pipeline-stream-threads.md), composed as src/main.ts
 * does at AEROFN_PIPELINE_THREADS=2: the embedded log, PGlite and the registry stay on this
 * thread; each stream thread runs the pipeline with its own sandbox workers, and their host calls
 * come back here.
 */

const instanceId = 'threads-e2e';
let dataDir: string;
let log: EventLog;
let database: Database;
let registry: Registry;
let pipeline: RunningPipeline;
let relay: ChangeRelay;
const summaries: InvocationSummary[] = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'aerofn-e2e-threads-'));
  const config = loadConfig({ AEROFN_DATA_DIR: dataDir, AEROFN_WORKERS: '1', AEROFN_LOG_FSYNC: 'false', AEROFN_MAX_TRIGGER_DEPTH: '3', AEROFN_PIPELINE_THREADS: '2' });
  assert.equal(config.pipeline.threads, 2);
  const logger = silentLogger();
  log = await openEventLog({ config: config.eventLog, dataDir, logger });
  database = await openDatabase({ config, dataDir, logger, inMemory: true });
  registry = createRegistry({ log, defaults: { sandbox: config.sandbox.defaults, retry: defaultRetryPolicy }, logger });
  await registry.start();
  // Four partitions, so each of the two threads owns two.
  await log.ensureTopic({ name: 'aerodb.changes', partitions: 4 });
  pipeline = createStreamThreads({
    threads: config.pipeline.threads,
    log,
    functions: registry,
    hostFunctions: createHostFunctions({ database, httpFetchMaxResponseBytes: 1 << 20, environment: {} }),
    config: config.pipeline,
    sandbox: config.sandbox,
    logger,
    instanceId,
    metricsIntervalMs: 200,
    onSummary: (summary) => summaries.push(summary),
  });
  await pipeline.start();
  relay = createChangeRelay({ database, eventLog: log, topic: 'aerodb.changes', logger, pollIntervalMs: 20 });
  relay.start();
  await database.adminScript(`
    create table public.items (id bigserial primary key, n int not null);
    create table public.audit (id bigserial primary key, at timestamptz default now());
    create table public.ping_t (id bigserial primary key, at timestamptz default now());
    create table public.pong_t (id bigserial primary key, at timestamptz default now());
    create table public.hostile (id bigserial primary key);
    grant select, insert on public.items, public.audit, public.ping_t, public.pong_t, public.hostile to service_role;
    grant usage, select on sequence public.items_id_seq, public.audit_id_seq, public.ping_t_id_seq, public.pong_t_id_seq, public.hostile_id_seq to service_role;`);
  for (const table of ['items', 'ping_t', 'pong_t', 'hostile']) await database.enableChangeCapture(table);
});

after(async () => {
  await relay?.stop();
  await pipeline?.stop();
  await registry?.close();
  await database?.close();
  await log?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const invocations = async (name: string): Promise<InvocationRecord[]> => (await readValues<InvocationRecord>(log, pipeline.topics.invocations)).filter((r) => r.function === name);

describe('pipeline in two stream threads', () => {
  it('runs a database-triggered function once per row, and its db_query reaches the database on the main thread', async () => {
    await registry.deploy({ name: 'on-item', wasm: await compileFixture('echo'), triggers: [{ type: 'database', table: 'items', operations: ['INSERT'] }] });
    await registry.deploy({ name: 'audit-item', wasm: await watToWasm(dbQueryGuestWat('insert into audit default values', 'null')), triggers: [{ type: 'database', table: 'items', operations: ['INSERT'] }] });
    await database.admin('insert into items (n) select g from generate_series(1, 40) g');
    await waitFor(async () => (await invocations('on-item')).length >= 40 && (await invocations('audit-item')).length >= 40, 30_000, '40 invocations of each function');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = await invocations('on-item');
    assert.equal(records.length, 40, 'once per row, no more');
    const ns = records.map((r) => (JSON.parse(r.outcome.ok ? r.outcome.output : '{}') as { row: { n: number } }).row.n).sort((a, b) => a - b);
    assert.deepEqual(ns, Array.from({ length: 40 }, (_, i) => i + 1));
    const audited = (await invocations('audit-item')).filter((r) => r.outcome.ok);
    assert.equal(audited.length, 40);
    const rows = await database.admin('select count(*)::int as n from audit');
    assert.equal((rows.rows[0] as { n: number }).n, 40);
    // Both threads took part: each thread's metric snapshots carry its own instance name.
    await waitFor(async () => {
      const snapshots = (await readValues<FunctionMetricsSnapshot>(log, pipeline.topics.metrics)).filter((s) => s.function === 'on-item');
      const perInstance = new Map<string, number>();
      for (const snapshot of snapshots) perInstance.set(snapshot.instance, Math.max(perInstance.get(snapshot.instance) ?? 0, snapshot.invocations));
      return perInstance.size === 2 && [...perInstance.values()].reduce((a, b) => a + b, 0) === 40;
    }, 10_000, 'metric snapshots of both threads adding up to 40');
    // The API's view: recent records from both threads, and /metrics summaries on this thread.
    const recent = await pipeline.recentInvocations('on-item', 100);
    assert.equal(recent.length, 40);
    await waitFor(() => summaries.filter((s) => s.function === 'on-item').length === 40, 5000, '40 summaries for /metrics');
  });

  it('keeps one key\'s events in log order while the partitions are split between the threads', async () => {
    await registry.deploy({ name: 'ordered', wasm: await compileFixture('echo'), triggers: [{ type: 'database', table: 'ordered', operations: ['INSERT'] }] });
    const keys = Array.from({ length: 16 }, (_, i) => `ordered:${i}`);
    const events = Array.from({ length: 320 }, (_, seq) => {
      const key = keys[seq % keys.length] as string;
      return { key, value: JSON.stringify({ table: 'ordered', op: 'INSERT', row: { key, seq }, commitTs: 1 }) };
    });
    const appended = await log.append('aerodb.changes', events);
    assert.ok(new Set(appended.map((a) => a.partition)).size >= 3, 'the keys spread over the partitions');
    await waitFor(async () => (await invocations('ordered')).length >= 320, 30_000, '320 ordered invocations');
    const records = await invocations('ordered');
    assert.equal(records.length, 320);
    const seen = new Map<string, number>();
    for (const record of records) {
      const { row } = JSON.parse(record.outcome.ok ? record.outcome.output : '{}') as { row: { key: string; seq: number } };
      // One thread owns a key's partition, and invokes its events one after another.
      assert.ok((seen.get(row.key) ?? -1) < row.seq, `${row.key}: ${row.seq} after ${seen.get(row.key)}`);
      seen.set(row.key, row.seq);
    }
    const description = await pipeline.describe();
    assert.equal(description.lag.length, 4, 'every partition, from both threads');
    const source = description.subTopologies[0]?.nodes.find((node) => node.name === 'change-source');
    const ends = await log.endOffsets('aerodb.changes');
    assert.equal(source?.in, ends.reduce((a, b) => a + b, 0), 'the threads\' counters add up to every change event');
    assert.ok(description.text.includes('Source: change-source'));
    assert.equal(description.state, 'running');
  });

  it('stops two functions that write each other\'s tables at the trigger-depth limit: the depth crosses the threads', async () => {
    await registry.deploy({ name: 'ping', wasm: await watToWasm(dbQueryGuestWat('insert into pong_t default values', 'null')), triggers: [{ type: 'database', table: 'ping_t', operations: ['INSERT'] }] });
    await registry.deploy({ name: 'pong', wasm: await watToWasm(dbQueryGuestWat('insert into ping_t default values', 'null')), triggers: [{ type: 'database', table: 'pong_t', operations: ['INSERT'] }] });
    await database.admin('insert into ping_t default values');
    const guarded = async (): Promise<DeadLetter[]> => (await readValues<DeadLetter>(log, pipeline.topics.dlq)).filter((l) => l.stage === 'loop-guard');
    await waitFor(async () => (await guarded()).length === 1, 30_000, 'the loop guard dead letter');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const records = (await readValues<InvocationRecord>(log, pipeline.topics.invocations)).filter((r) => r.function === 'ping' || r.function === 'pong');
    // In the order they ran: a function's write is visible (and can trigger the next one) before
    // its own invocation returns, so under load its record can be written after the next one's.
    const byStart = [...records].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
    assert.deepEqual(byStart.map((r) => r.function), ['ping', 'pong', 'ping', 'pong']);
    assert.equal((await guarded())[0]?.triggerDepth, 4);
  });

  it('holds a hostile function to its limits inside a stream thread while the rest keeps flowing', async () => {
    const on = [{ type: 'database' as const, table: 'hostile', operations: ['INSERT' as const] }];
    await registry.deploy({ name: 'spin', wasm: await compileFixture('infinite-loop'), triggers: on, config: { timeoutMs: 100, retry: { maxAttempts: 2, initialBackoffMs: 10 } } });
    await registry.deploy({ name: 'bomb', wasm: await compileFixture('memory-bomb'), triggers: on, config: { memoryMb: 16 } });
    await registry.deploy({ name: 'recursion', wasm: await compileFixture('deep-recursion'), triggers: on });
    await registry.deploy({ name: 'calm', wasm: await compileFixture('echo'), triggers: on });
    await database.admin("insert into hostile (id) select nextval('hostile_id_seq') from generate_series(1, 4)");
    const letters = async (): Promise<DeadLetter[]> => (await readValues<DeadLetter>(log, pipeline.topics.dlq)).filter((l) => l.stage === 'invoke' && l.function !== null && ['spin', 'bomb', 'recursion'].includes(l.function.name));
    await waitFor(async () => (await letters()).length >= 12, 30_000, 'a dead letter per hostile function and row');
    const byFunction = new Map<string, DeadLetter[]>();
    for (const letter of await letters()) byFunction.set(letter.function?.name ?? '', [...(byFunction.get(letter.function?.name ?? '') ?? []), letter]);
    assert.deepEqual(new Set(byFunction.get('spin')?.map((l) => `${l.error?.kind}/${l.attempts}`)), new Set(['Timeout/2']));
    assert.deepEqual(new Set(byFunction.get('bomb')?.map((l) => `${l.error?.kind}/${l.attempts}`)), new Set(['OutOfMemory/1']));
    assert.deepEqual(new Set(byFunction.get('recursion')?.map((l) => `${l.error?.kind}/${l.attempts}`)), new Set(['StackOverflow/1']));
    assert.equal(byFunction.get('spin')?.length, 4);
    const calm = await invocations('calm');
    assert.equal(calm.length, 4);
    assert.ok(calm.every((r) => r.outcome.ok));
  });
});
