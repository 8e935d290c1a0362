import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker, type InvocationRecord, type SandboxInvoker } from '../../src/invoker/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createPipeline, type DeadLetter, type Pipeline } from '../../src/pipeline/index.js';
import { compileFixture } from '../fixtures/wasm/compile-fixture.js';
import { pipelineConfig, waitFor } from '../unit/pipeline/harness.js';

/**
 * kcat (Debian's package, a librdkafka client we did not write) produces the change records and
 * reads the output topics: the formats are plain Kafka records any client can use.
 */
const brokers = process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const run = `${process.pid}-${Date.now()}`;
const prefix = `kcat-${run}.`;
const group = `kcat-${run}`;
const changes = `${prefix}aerodb.changes`;

let log: EventLog;
let invoker: SandboxInvoker;
let pipeline: Pipeline;

function ensureKcat(): void {
  if (spawnSync('kcat', ['-V']).status === 0) return;
  execFileSync('apt-get', ['install', '-y', 'kcat'], { stdio: 'ignore' });
}

function kcatProduce(topic: string, lines: string[]): void {
  // -K '|' splits key|value; -Z turns an empty value into NULL (a tombstone).
  execFileSync('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '|', '-Z'], { input: lines.join('\n') + '\n' });
}

function kcatConsume(topic: string): Array<{ key: string | null; payload: string | null; headers: string[] | null }> {
  const out = execFileSync('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-J', '-q', '-X', 'isolation.level=read_committed'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { key: string | null; payload: string | null; headers: string[] | null });
}

before(async () => {
  ensureKcat();
  log = await openKafkaEventLog({ brokers: brokers.split(','), clientId: `kcat-test-${run}`, logger: silentLogger() });
  const functions = createInMemoryFunctions();
  invoker = createInvoker({ functions, config: { ...loadConfig({}).sandbox, workers: 1 }, logger: silentLogger() });
  await invoker.ready();
  const echo = await compileFixture('echo');
  await functions.deploy('on-customer', echo, { triggers: [{ type: 'database', table: 'public.customers', operations: ['INSERT', 'UPDATE', 'DELETE'] }] });
  await functions.deploy('on-order', echo, { triggers: [{ type: 'database', table: 'orders', operations: ['INSERT'] }] });
  await log.ensureTopic({ name: changes, partitions: 2 });
  pipeline = createPipeline({ log, invoker, functions: functions.list(), config: pipelineConfig({ groupId: group }), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0 });
  await pipeline.start();
});

after(async () => {
  await pipeline?.stop();
  await invoker?.close();
  await log?.close();
});

describe('pipeline with kcat as producer and reader', () => {
  it('takes Debezium and AeroDB records from kcat and leaves results kcat can read', async () => {
    const compact = (name: string): string => JSON.stringify(JSON.parse(readFileSync(new URL(`../fixtures/debezium/${name}`, import.meta.url), 'utf8')));
    const key = JSON.stringify(JSON.parse(readFileSync(new URL('../fixtures/debezium/key-with-schema.json', import.meta.url), 'utf8')));
    kcatProduce(changes, [
      `${key}|${compact('create-with-schema.json')}`,
      `${key}|${compact('update-payload-only.json')}`,
      `${key}|${compact('delete-with-schema.json')}`,
      `${key}|`, // the tombstone after the delete
      `order-7|${JSON.stringify({ table: 'orders', op: 'INSERT', row: { id: 7, total: 12 }, context: { role: 'authenticated', sub: 'user-1', claims: { role: 'authenticated', sub: 'user-1' } } })}`,
      'junk|{"neither": "format"}',
    ]);
    await waitFor(async () => [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0) === 6, 60_000, 'six records committed');

    const invocations = kcatConsume(pipeline.topics.invocations).map((m) => ({ key: m.key, record: JSON.parse(m.payload ?? '{}') as InvocationRecord }));
    const customer = invocations.filter((i) => i.key === 'on-customer').map((i) => i.record);
    assert.deepEqual(customer.map((r) => JSON.parse(r.input).op), ['INSERT', 'UPDATE', 'DELETE']);
    assert.deepEqual(JSON.parse(customer[0]?.input ?? '{}').row, { id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' });
    assert.ok(customer.every((r) => r.outcome.ok && r.context.role === 'service_role'));
    const order = invocations.find((i) => i.key === 'on-order')?.record;
    assert.equal(order?.context.role, 'authenticated', 'the RLS context of the change reaches the function');
    assert.equal(order?.context.sub, 'user-1');
    assert.deepEqual(order?.outcome.ok ? JSON.parse(order.outcome.output).row : null, { id: 7, total: 12 });

    const letters = kcatConsume(pipeline.topics.dlq).map((m) => JSON.parse(m.payload ?? '{}') as DeadLetter);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.stage, 'decode');
    assert.equal(letters[0]?.original.key, 'junk');

    await waitFor(() => kcatConsume(pipeline.topics.metrics).length > 0, 10_000, 'a metrics snapshot');
    const metrics = kcatConsume(pipeline.topics.metrics).map((m) => JSON.parse(m.payload ?? '{}') as { function: string; invocations: number });
    assert.ok(metrics.some((m) => m.function === 'on-customer' && m.invocations === 3));
  });
});
