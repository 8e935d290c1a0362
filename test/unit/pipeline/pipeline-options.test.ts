import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPipeline, parseChangeTopics, parseStartPosition } from '../../../src/pipeline/index.js';
import type { EventLog } from '../../../src/eventlog/index.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { BehaviorSubject } from 'rxjs';
import { readFileSync } from 'node:fs';
import { functionDef } from './helpers.js';
import { openTempLog, pipelineConfig, readValues, scriptedInvoker, sleep, waitFor } from './harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
let counter = 0;
const uniquePrefix = (): string => `o${process.pid}-${(counter += 1)}.`;
const insert = (table: string, id: number) => ({ key: `${table}:${id}`, value: JSON.stringify({ table, op: 'INSERT', row: { id } }) });
const committed = async (group: string, topic: string): Promise<number> => [...(await log.committedOffsets(group, topic)).values()].reduce((a, b) => a + b, 0);

before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

describe('pipeline settings', () => {
  it('parses start positions and change-topic patterns', () => {
    assert.equal(parseStartPosition('committed'), 'committed');
    assert.equal(parseStartPosition('latest'), 'latest');
    assert.deepEqual(parseStartPosition('2026-01-01T00:00:00Z'), { timestamp: Date.parse('2026-01-01T00:00:00Z') });
    assert.deepEqual(parseStartPosition('1700000000000'), { timestamp: 1_700_000_000_000 });
    assert.throws(() => parseStartPosition('yesterday'), /committed, earliest, latest or an ISO time/);
    const [name, pattern] = parseChangeTopics(['aerodb.changes', '/^dbserver1\\.public\\..+/i'], 'p.');
    assert.equal(name, 'p.aerodb.changes');
    assert.ok(pattern instanceof RegExp && pattern.test('DBSERVER1.public.customers') && pattern.flags === 'i');
  });

  it('starts at the end with startFrom latest, skipping what was there', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes });
    await log.append(changes, [insert('t', 1), insert('t', 2)]);
    const invoker = scriptedInvoker({ f: () => ({ output: 'null' }) });
    const pipeline = createPipeline({ log, invoker, functions: [functionDef('f', [{ type: 'database', table: 't', operations: ['INSERT'] }])], config: pipelineConfig({ startFrom: 'latest', groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, [insert('t', 3)]);
    await waitFor(async () => (await committed(`${prefix}g`, changes)) === 3, 10_000, 'offset 3');
    await pipeline.stop();
    assert.deepEqual(invoker.calls.map((c) => (JSON.parse(c.payload) as { row: { id: number } }).row.id), [3]);
  });

  it("reads Debezium's per-table topics through a pattern", async () => {
    const prefix = uniquePrefix();
    const customers = `${prefix}dbserver1.public.customers`;
    const orders = `${prefix}dbserver1.public.orders`;
    await log.ensureTopic({ name: customers });
    await log.ensureTopic({ name: orders });
    const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/debezium/${name}`, import.meta.url), 'utf8');
    await log.append(customers, [{ key: '{"id":1}', value: fixture('create-with-schema.json') }, { key: '{"id":1}', value: fixture('update-payload-only.json') }, { key: '{"id":1}', value: null }]);
    const orderEvent = JSON.parse(fixture('create-payload-only.json')) as { source: Record<string, unknown> };
    orderEvent.source['table'] = 'orders';
    await log.append(orders, [{ key: '{"id":9}', value: JSON.stringify(orderEvent) }]);
    const invoker = scriptedInvoker({ c: () => ({ output: 'null' }), o: () => ({ output: 'null' }) });
    const functions = [
      functionDef('c', [{ type: 'database', table: 'customers', operations: ['INSERT', 'UPDATE'] }]),
      functionDef('o', [{ type: 'database', table: 'public.orders', operations: ['INSERT'] }]),
    ];
    const escaped = prefix.replace(/\./g, '\\.');
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ changeTopics: [`/^${escaped}dbserver1\\.public\\..+/`], groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await waitFor(async () => (await committed(`${prefix}g`, customers)) === 3 && (await committed(`${prefix}g`, orders)) === 1, 10_000, 'both topics committed');
    await pipeline.stop();
    assert.deepEqual(invoker.calls.map((c) => `${c.functionName}:${(JSON.parse(c.payload) as { op: string }).op}`).sort(), ['c:INSERT', 'c:UPDATE', 'o:INSERT']);
    assert.match(pipeline.describeText(), /Source: change-source \(topics: \[\/\^o.*dbserver1/);
  });

  it('rebuilds the trigger index when the function list changes', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const functions = new BehaviorSubject([functionDef('first', [{ type: 'database', table: 't', operations: ['INSERT'] }])]);
    const invoker = scriptedInvoker({ first: () => ({ output: 'null' }), second: () => ({ output: 'null' }) });
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, [insert('t', 1)]);
    await waitFor(async () => (await committed(`${prefix}g`, changes)) === 1, 10_000, 'first event');
    functions.next([functionDef('second', [{ type: 'database', table: 't', operations: ['INSERT'] }])]);
    await log.append(changes, [insert('t', 2)]);
    await waitFor(async () => (await committed(`${prefix}g`, changes)) === 2, 10_000, 'second event');
    await pipeline.stop();
    assert.deepEqual(invoker.calls.map((c) => c.functionName), ['first', 'second']);
  });

  it('stops within the drain bound, records the unfinished invocation as abandoned and leaves its record uncommitted for redelivery', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ hang: (request) => (JSON.parse(request.payload).row.id === 2 ? new Promise(() => undefined) : { output: 'null' }) });
    const pipeline = createPipeline({ log, invoker, functions: [functionDef('hang', [{ type: 'database', table: 't', operations: ['INSERT'] }])], config: pipelineConfig({ groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger(), drainTimeoutMs: 300 });
    await pipeline.start();
    await log.append(changes, [{ key: 'a', value: insert('t', 1).value }, { key: 'b', value: insert('t', 2).value }, { key: 'c', value: insert('t', 3).value }]);
    await waitFor(() => invoker.calls.length === 3, 10_000, 'three calls');
    await sleep(100);
    const began = Date.now();
    await pipeline.stop();
    assert.ok(Date.now() - began < 2000, `stop took ${Date.now() - began} ms`);
    assert.equal(await committed(`${prefix}g`, changes), 1, 'offset 1 (the hung record) is the commit point');
    const records = await readValues<InvocationRecord>(log, pipeline.topics.invocations);
    assert.deepEqual(records.map((r) => r.source?.offset).sort(), [0, 1, 2]);
    const abandoned = records.find((r) => r.source?.offset === 1);
    assert.equal(abandoned?.outcome.ok, false);
    assert.ok(abandoned !== undefined && !abandoned.outcome.ok);
    assert.equal(abandoned.outcome.error.kind, 'Unavailable');
    assert.deepEqual(abandoned.outcome.error.details, { abandoned: true });
    assert.match(abandoned.outcome.error.message, /^abandoned at shutdown: the drain bound \(300 ms\) passed while attempt 1 was running; .*redelivered/);
    assert.equal(abandoned.attempt, 1);
    assert.equal(abandoned.id, invoker.calls[1]?.invocationId);
    assert.deepEqual(JSON.parse(abandoned.input).row, { id: 2 });
    assert.deepEqual(abandoned.source, { topic: changes, partition: 0, offset: 1 });

    // After a restart the abandoned event comes again (same invocation id) and is committed.
    const again = scriptedInvoker({ hang: () => ({ output: 'null' }) });
    const second = createPipeline({ log, invoker: again, functions: [functionDef('hang', [{ type: 'database', table: 't', operations: ['INSERT'] }])], config: pipelineConfig({ groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger() });
    await second.start();
    await waitFor(async () => (await committed(`${prefix}g`, changes)) === 3, 10_000, 'all three committed after the restart');
    await second.stop();
    assert.equal(again.calls[0]?.invocationId, abandoned.id);
    assert.deepEqual(again.calls.map((c) => c.source?.offset), [1, 2]);
  });

  it('abandons a task waiting for its retry backoff with the finished attempts recorded', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ flaky: () => ({ error: 'Timeout' }) });
    const fn = functionDef('flaky', [{ type: 'database', table: 't', operations: ['INSERT'] }], { maxAttempts: 5, initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
    const pipeline = createPipeline({ log, invoker, functions: [fn], config: pipelineConfig({ groupId: `${prefix}g` }), topicPrefix: prefix, logger: silentLogger(), drainTimeoutMs: 200 });
    await pipeline.start();
    await log.append(changes, [{ key: 'a', value: insert('t', 1).value }]);
    await waitFor(() => invoker.calls.length === 1, 10_000, 'first attempt');
    await sleep(50);
    await pipeline.stop();
    assert.equal(await committed(`${prefix}g`, changes), 0);
    const records = await readValues<InvocationRecord>(log, pipeline.topics.invocations);
    assert.deepEqual(records.map((r) => [r.attempt, r.outcome.ok ? 'ok' : r.outcome.error.kind]), [[1, 'Timeout'], [2, 'Unavailable']]);
    assert.ok(records[1] !== undefined && !records[1].outcome.ok);
    assert.match(records[1].outcome.error.message, /before attempt 2 \(waiting for its retry backoff\) started/);
    assert.equal((await readValues(log, pipeline.topics.dlq)).length, 0, 'no dead letter: the event is redelivered');
  });

  it('lists recent invocations newest first, up to the limit, and records outside invocations', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ f: async () => (await sleep(2), { output: 'null' }) });
    const pipeline = createPipeline({ log, invoker, functions: [functionDef('f', [{ type: 'database', table: 't', operations: ['INSERT'] }])], config: pipelineConfig({ groupId: `${prefix}g`, concurrency: 1 }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, [1, 2, 3, 4, 5].map((id) => ({ key: 'same', value: insert('t', id).value })));
    await waitFor(async () => (await committed(`${prefix}g`, changes)) === 5, 10_000, 'five committed');
    const recent = pipeline.recentInvocations('f', 3);
    assert.deepEqual(recent.map((r) => r.source?.offset), [4, 3, 2]);
    const outside = { ...recent[0]!, id: 'rest-1', trigger: 'http' as const, source: null, startedAt: new Date(Date.now() + 1000).toISOString() };
    pipeline.noteInvocation(outside);
    assert.equal(pipeline.recentInvocations('f', 1)[0]?.id, 'rest-1');
    await waitFor(async () => (await readValues<InvocationRecord>(log, pipeline.topics.invocations)).some((r) => r.id === 'rest-1'), 5000, 'the REST record on the topic');
    await pipeline.stop();
  });
});
