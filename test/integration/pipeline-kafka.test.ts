import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline, type DeadLetter } from '../../src/pipeline/index.js';
import { compileFixture } from '../fixtures/wasm/compile-fixture.js';
import { pipelineConfig, readValues, waitFor } from '../unit/pipeline/harness.js';

/**
 * The stream processor on the real Kafka broker (scripts/kafka.sh) with real wasm functions
 * through the real invoker: results, retries into the DLQ, per-key order under concurrency.
 */
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const run = `${process.pid}-${Date.now()}`;

let log: EventLog;
let invoker: SandboxInvoker;
const functions = createInMemoryFunctions();

before(async () => {
  log = await openKafkaEventLog({ brokers, clientId: `pipeline-test-${run}`, logger: silentLogger() });
  const sandbox = { ...loadConfig({}).sandbox, workers: 2 };
  invoker = createInvoker({ functions, config: sandbox, logger: silentLogger() });
  await invoker.ready();
  await functions.deploy('echo', await compileFixture('echo'), { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT', 'UPDATE'] }] });
  await functions.deploy('spin', await compileFixture('infinite-loop'), {
    config: { timeoutMs: 150, retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 50 } },
    triggers: [{ type: 'database', table: 'orders', operations: ['UPDATE'], filter: [{ column: 'poison', equals: true }] }],
  });
});

after(async () => {
  await invoker?.close();
  await log?.close();
});

describe('pipeline on Kafka with wasm functions', () => {
  it('records every invocation, dead-letters a function that always times out, and keeps each key in order', async () => {
    const prefix = `it-${run}.`;
    const groupId = `pipeline-${run}`;
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes, partitions: 3 });
    const pipeline = createPipeline({
      log, invoker, functions: functions.list(), config: pipelineConfig({ groupId, concurrency: 8 }), topicPrefix: prefix, logger: silentLogger(),
    });
    await pipeline.start();
    const records = [];
    for (let seq = 0; seq < 30; seq += 1) {
      for (let id = 0; id < 5; id += 1) records.push({ key: `orders:${id}`, value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id, seq }, commitTs: Date.now() }) });
    }
    records.push({ key: 'orders:99', value: JSON.stringify({ table: 'orders', op: 'UPDATE', row: { id: 99, poison: true }, old: { id: 99 } }) });
    records.push({ key: 'junk', value: 'this is not an event' });
    await log.append(changes, records);
    const total = async (): Promise<number> => [...(await log.committedOffsets(groupId, changes)).values()].reduce((a, b) => a + b, 0);
    await waitFor(async () => (await total()) === records.length, 60_000, 'every change committed');
    await pipeline.stop();

    const invocations = await readValues<InvocationRecord>(log, pipeline.topics.invocations);
    const echoes = invocations.filter((r) => r.function === 'echo');
    assert.equal(echoes.length, 151);
    assert.ok(echoes.every((r) => r.outcome.ok));
    const bySeq = new Map<number, number[]>();
    for (const record of echoes) {
      const row = (JSON.parse(record.outcome.ok ? record.outcome.output : '{}') as { row: { id: number; seq?: number } }).row;
      if (row.seq === undefined) continue;
      bySeq.set(row.id, [...(bySeq.get(row.id) ?? []), row.seq]);
    }
    for (const [id, seqs] of bySeq) assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i), `key ${id} reached echo out of order`);

    const spins = invocations.filter((r) => r.function === 'spin');
    assert.equal(spins.length, 2);
    assert.ok(spins.every((r) => !r.outcome.ok && r.outcome.error.kind === 'Timeout'));
    assert.equal(new Set(spins.map((r) => r.id)).size, 1);
    const letters = await readValues<DeadLetter>(log, pipeline.topics.dlq);
    assert.deepEqual(letters.map((l) => [l.stage, l.function?.name ?? null, l.attempts]).sort(), [['decode', null, 0], ['invoke', 'spin', 2]]);
  });

  it('splits the partitions between two instances of one consumer group', async () => {
    const prefix = `it2-${run}.`;
    const groupId = `pipeline-two-${run}`;
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes, partitions: 4 });
    const make = (instanceId: string) => createPipeline({
      log, invoker, functions: functions.list().filter((fn) => fn.name === 'echo'), config: pipelineConfig({ groupId }), topicPrefix: prefix, logger: silentLogger(), instanceId,
    });
    const first = make('one');
    const second = make('two');
    await first.start();
    await second.start();
    // Wait until the group settled: each member owns some partitions.
    await waitFor(async () => {
      const [a, b] = await Promise.all([first.describe(), second.describe()]);
      return a.lag.length > 0 && b.lag.length > 0 && a.lag.length + b.lag.length === 4;
    }, 60_000, 'both members assigned');
    const count = 400;
    await log.append(changes, Array.from({ length: count }, (_, n) => ({ key: `orders:${n % 40}`, value: JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: n % 40, n } }) })));
    const total = async (): Promise<number> => [...(await log.committedOffsets(groupId, changes)).values()].reduce((a, b) => a + b, 0);
    await waitFor(async () => (await total()) === count, 60_000, 'every change committed');
    const handled = async (p: typeof first): Promise<number> => (await p.describe()).subTopologies[0]?.nodes.find((n) => n.name === 'change-source')?.in ?? 0;
    const [byFirst, bySecond] = [await handled(first), await handled(second)];
    await Promise.all([first.stop(), second.stop()]);
    assert.ok(byFirst > 0 && bySecond > 0, `both instances worked (${byFirst} and ${bySecond})`);
    assert.equal(byFirst + bySecond, count, 'each record was taken by one instance');
    const records = (await readValues<InvocationRecord>(log, first.topics.invocations)).filter((r) => r.function === 'echo');
    assert.equal(new Set(records.map((r) => `${r.source?.partition}/${r.source?.offset}`)).size, count);
  });
});
