import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPipeline, type DeadLetter } from '../../../src/pipeline/index.js';
import type { EventLog } from '../../../src/eventlog/index.js';
import type { InvocationRecord } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { functionDef } from './helpers.js';
import { observeSubscriptions, openTempLog, pipelineConfig, readValues, scriptedInvoker, sleep, waitFor } from './harness.js';

let log: EventLog;
let cleanup: () => Promise<void>;
let counter = 0;
const uniquePrefix = (): string => `t${process.pid}-${(counter += 1)}.`;
const change = (table: string, id: number, extra: Record<string, unknown> = {}) => ({ key: `${table}:${id}`, value: JSON.stringify({ table, op: 'INSERT', row: { id, ...extra }, commitTs: 1 }) });

before(async () => ({ log, cleanup } = await openTempLog()));
after(async () => cleanup());

describe('createPipeline on the embedded log', () => {
  it('invokes every matching function once per event, records it and commits the offsets', async () => {
    const prefix = uniquePrefix();
    const invoker = scriptedInvoker({ audit: () => ({ output: '"ok"' }), notify: () => ({ output: '"sent"' }) });
    const functions = [
      functionDef('audit', [{ type: 'database', table: 'orders', operations: ['INSERT'] }]),
      functionDef('notify', [{ type: 'database', table: 'orders', operations: ['INSERT'], filter: [{ column: 'total', numeric: ['>', 10] }] }]),
    ];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig(), topicPrefix: prefix, logger: silentLogger(), metricsIntervalMs: 0 });
    await pipeline.start();
    const changes = `${prefix}aerodb.changes`;
    await log.append(changes, Array.from({ length: 50 }, (_, i) => change('orders', i, { total: i })));
    await log.append(changes, [change('users', 1)]);
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === 51, 15_000, 'offset 51 committed');
    const records = await readValues<InvocationRecord>(log, pipeline.topics.invocations);
    assert.equal(records.filter((r) => r.function === 'audit').length, 50);
    assert.equal(records.filter((r) => r.function === 'notify').length, 39);
    assert.equal(new Set(records.map((r) => r.id)).size, 89);
    const first = records.find((r) => r.function === 'audit' && r.source?.offset === 3);
    assert.deepEqual(JSON.parse(first?.input ?? '{}'), { table: 'orders', schema: null, op: 'INSERT', row: { id: 3, total: 3 }, old: null });
    assert.equal(invoker.calls[0]?.rls.role, 'service_role');
    assert.equal(invoker.calls[0]?.trigger, 'database');
    assert.equal(invoker.calls[0]?.version, undefined, 'not pinned: a redeploy mid-flight runs the new version');
    const recent = pipeline.recentInvocations('audit', 5);
    assert.equal(recent.length, 5);
    const described = await pipeline.describe();
    const node = (name: string) => described.subTopologies[0]?.nodes.find((n) => n.name === name);
    assert.equal(node('change-source')?.in, 51);
    assert.equal(node('match')?.in, 51);
    assert.equal(node('invoke')?.out, 89);
    assert.equal(node('invocations-sink')?.out, 89);
    assert.equal(described.totalLag, 0);
    for (const name of ['change-source', 'decode', 'match', 'invoke', 'invocations-sink', 'commit']) {
      assert.equal(typeof node(name)?.p99Ms, 'number', `${name} reports a p99 latency`);
    }
    await pipeline.stop();
    const metrics = await readValues<{ function: string; invocations: number }>(log, pipeline.topics.metrics);
    assert.equal(metrics.filter((m) => m.function === 'audit').at(-1)?.invocations, 50);
  });

  it('retries a failing function, dead-letters it after maxAttempts, and keeps the rest flowing', async () => {
    const prefix = uniquePrefix();
    const invoker = scriptedInvoker({ flaky: () => ({ error: 'Timeout' }), steady: () => ({ output: '1' }), panics: () => ({ error: 'RuntimePanic' }) });
    const retry = { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 };
    const functions = [
      functionDef('flaky', [{ type: 'database', table: 'jobs', operations: ['INSERT'] }], retry),
      functionDef('steady', [{ type: 'database', table: 'jobs', operations: ['INSERT'] }], retry),
      functionDef('panics', [{ type: 'database', table: 'jobs', operations: ['INSERT'], filter: [{ column: 'id', equals: 0 }] }], retry),
    ];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig(), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    const changes = `${prefix}aerodb.changes`;
    await log.append(changes, [...Array.from({ length: 10 }, (_, i) => change('jobs', i)), { key: 'bad', value: '{"garbage' }]);
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === 11, 15_000, 'all committed');
    await pipeline.stop();
    const letters = await readValues<DeadLetter>(log, pipeline.topics.dlq);
    const flaky = letters.filter((l) => l.function?.name === 'flaky');
    assert.equal(flaky.length, 10);
    assert.ok(flaky.every((l) => l.attempts === 3 && l.error?.kind === 'Timeout' && l.stage === 'invoke'));
    assert.equal(JSON.parse(flaky[0]?.original.value ?? '{}').table, 'jobs');
    const panics = letters.filter((l) => l.function?.name === 'panics');
    assert.equal(panics.length, 1);
    assert.equal(panics[0]?.attempts, 1, 'RuntimePanic is not retriable');
    const poison = letters.filter((l) => l.stage === 'decode');
    assert.equal(poison.length, 1);
    assert.match(poison[0]?.reason ?? '', /not JSON/);
    const records = await readValues<InvocationRecord>(log, pipeline.topics.invocations);
    assert.equal(records.filter((r) => r.function === 'steady' && r.outcome.ok).length, 10);
    assert.equal(records.filter((r) => r.function === 'flaky').length, 30, 'every attempt is recorded');
    const ids = new Set(records.filter((r) => r.function === 'flaky' && r.source?.offset === 0).map((r) => r.id));
    assert.equal(ids.size, 1, 'retries keep the invocation id');
  });

  it('delivers one key in log order to a function while other keys run in parallel, within the concurrency bound', async () => {
    const prefix = uniquePrefix();
    const seen = new Map<string, number[]>();
    const invoker = scriptedInvoker({
      ordered: async (request) => {
        const row = (JSON.parse(request.payload) as { row: { id: number; seq: number } }).row;
        await sleep(Math.floor(Math.random() * 4));
        const list = seen.get(String(row.id)) ?? [];
        list.push(row.seq);
        seen.set(String(row.id), list);
        return { output: 'null' };
      },
    });
    const functions = [functionDef('ordered', [{ type: 'database', table: 'ledger', operations: ['INSERT'] }])];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ concurrency: 6, highWatermark: 30, lowWatermark: 10 }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    const changes = `${prefix}aerodb.changes`;
    const records = [];
    for (let seq = 0; seq < 60; seq += 1) for (let id = 0; id < 3; id += 1) records.push({ key: `ledger:${id}`, value: JSON.stringify({ table: 'ledger', op: 'INSERT', row: { id, seq } }) });
    await log.append(changes, records);
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === 180, 30_000, 'all committed');
    await pipeline.stop();
    assert.equal(seen.size, 3);
    for (const [id, list] of seen) assert.deepEqual(list, Array.from({ length: 60 }, (_, i) => i), `key ${id} out of order`);
    assert.ok(invoker.maxActive <= 3, `one at a time per key (3 keys), saw ${invoker.maxActive}`);
    assert.ok(invoker.maxActive >= 2, `keys ran in parallel (max ${invoker.maxActive})`);
  });

  /**
   * Runs `count` inserts into `table` (each row with `extra`) through a pipeline whose function
   * takes 3 ms, until all are committed. Returns the most events the source had in flight
   * (polled), its subscription's pause() and resume() calls (each pause is short, the results it
   * waits for being written at once, so they are counted at the subscription rather than caught
   * by polling), and how many calls the function got.
   */
  async function throughSlowFunction(config: ReturnType<typeof pipelineConfig>, table: string, count: number, extra: Record<string, unknown> = {}) {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ slow: async () => (await sleep(3), { output: 'null' }) });
    const functions = [functionDef('slow', [{ type: 'database', table, operations: ['INSERT'] }])];
    const calls: Array<'pause' | 'resume'> = [];
    const observed = observeSubscriptions(log, (what) => calls.push(what));
    const pipeline = createPipeline({ log: observed, invoker, functions, config, topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, Array.from({ length: count }, (_, i) => change(table, i, extra)));
    let maxInFlight = 0;
    await waitFor(async () => {
      const source = (await pipeline.describe()).subTopologies[0]?.nodes.find((n) => n.name === 'change-source');
      maxInFlight = Math.max(maxInFlight, source?.inFlight ?? 0);
      return (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === count;
    }, 30_000, 'all committed');
    await pipeline.stop();
    return { maxInFlight, pauses: calls.filter((what) => what === 'pause').length, calls, invoked: invoker.calls.length };
  }

  it('pauses the source above the high watermark and resumes below the low one', async () => {
    const run = await throughSlowFunction(pipelineConfig({ concurrency: 4, highWatermark: 20, lowWatermark: 5 }), 's', 200);
    assert.ok(run.maxInFlight <= 20, `in flight stayed at or below the high watermark (max ${run.maxInFlight})`);
    assert.ok(run.pauses >= 2, `the source reached the high watermark and paused, again and again: ${run.calls.join(' ')}`);
    assert.ok(run.calls.includes('resume'), 'and resumed');
    assert.equal(run.invoked, 200);
  });

  it('pauses the source when the events in flight hold more bytes than the byte watermark, however few they are', async () => {
    // Rows of ~2 KB against an 8 KB byte watermark: at most 4-5 in flight, while the record
    // watermark (10,000) would allow all 60.
    const config = pipelineConfig({ concurrency: 4, highWatermark: 10_000, lowWatermark: 5000, highWatermarkBytes: 8 * 1024 });
    const run = await throughSlowFunction(config, 'big', 60, { blob: 'x'.repeat(2000) });
    assert.ok(run.maxInFlight <= 5, `at most 8 KB of ~2 KB records in flight (max ${run.maxInFlight})`);
    assert.ok(run.pauses >= 2, `the source paused on bytes, again and again: ${run.calls.join(' ')}`);
    assert.equal(run.invoked, 60);
  });

  it('does not wait out the linger while the source is paused for backpressure', async () => {
    // The source waits for exactly the results that linger: with a minute of linger and no hurry
    // each pause would last a minute, and the 200 events would not finish within the test's bound.
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ quick: () => ({ output: 'null' }) });
    const functions = [functionDef('quick', [{ type: 'database', table: 'q', operations: ['INSERT'] }])];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ concurrency: 4, highWatermark: 20, lowWatermark: 5, lingerMs: 60_000 }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, Array.from({ length: 200 }, (_, i) => change('q', i)));
    // The last results (fewer than the high watermark) linger: nothing pauses the source then.
    const committed = async (): Promise<number> => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) ?? 0;
    await waitFor(async () => (await committed()) >= 200 - 20, 10_000, 'all but the last high watermark committed');
    await pipeline.stop();
    assert.equal(await committed(), 200, 'stopping flushed the lingering rest');
    assert.equal((await readValues<{ id: string }>(log, pipeline.topics.invocations)).length, 200);
  });

  it('bounds how long a source batch waits for backpressure (maxBlockMs) so a Kafka member keeps its heartbeat', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ slow: async () => (await sleep(40), { output: 'null' }) });
    const functions = [functionDef('slow', [{ type: 'database', table: 's', operations: ['INSERT'] }])];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ concurrency: 1, highWatermark: 5, lowWatermark: 1 }), topicPrefix: prefix, logger: silentLogger(), maxBlockMs: 150 });
    await pipeline.start();
    await log.append(changes, Array.from({ length: 30 }, (_, i) => ({ key: 'one-key', value: change('s', i).value })));
    const source = async () => (await pipeline.describe()).subTopologies[0]?.nodes.find((n) => n.name === 'change-source');
    await waitFor(async () => (await source())?.in === 30, 5000, 'the whole batch taken in after the bounded wait');
    assert.ok(invoker.calls.length < 20, `taken in long before the work finished (${invoker.calls.length} calls so far)`);
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === 30, 15_000, 'all committed');
    await pipeline.stop();
  });

  it('pauses the source when the high watermark was passed before subscribe() returned', async () => {
    // Events already in the log come in before subscribe() returns; a log that returns late (a
    // Kafka join, a stream thread's log) must still be paused then, not only at the next batch.
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    await log.ensureTopic({ name: changes, partitions: 1 });
    await log.append(changes, Array.from({ length: 40 }, (_, i) => change('early', i)));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const invoker = scriptedInvoker({ held: async () => (await held, { output: 'null' }) });
    const functions = [functionDef('held', [{ type: 'database', table: 'early', operations: ['INSERT'] }])];
    const calls: Array<'pause' | 'resume'> = [];
    const observed = observeSubscriptions(log, (what) => calls.push(what));
    const lateLog = new Proxy(observed, {
      get(target, property, receiver) {
        if (property !== 'subscribe') return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<EventLog['subscribe']>) => {
          const subscription = await target.subscribe(...args);
          await waitFor(() => invoker.calls.length >= 4, 5000, 'the first events invoked before subscribe() returns');
          await sleep(100);
          return subscription;
        };
      },
    });
    const pipeline = createPipeline({ log: lateLog, invoker, functions, config: pipelineConfig({ concurrency: 4, highWatermark: 5, lowWatermark: 1 }), topicPrefix: prefix, logger: silentLogger(), maxBlockMs: 50 });
    await pipeline.start();
    assert.deepEqual(calls, ['pause'], 'paused as soon as the subscription was there');
    release();
    await waitFor(async () => (await log.committedOffsets('aerofn-pipeline', changes)).get(0) === 40, 15_000, 'all committed');
    await pipeline.stop();
    assert.ok(calls.includes('resume'), `resumed once the work drained: ${calls.join(' ')}`);
  });

  it('stops a two-function write cycle with the loop guard', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    // ping writes to pong's table and back; each write carries the depth of the chain + 1,
    // as the db host function does for a function's writes.
    const write = (table: string) => async (request: { payload: string; triggerDepth?: number }) => {
      const row = (JSON.parse(request.payload) as { row: { id: number } }).row;
      await log.append(changes, [{ key: `${table}:${row.id}`, value: JSON.stringify({ table, op: 'INSERT', row, triggerDepth: (request.triggerDepth ?? 0) + 1 }) }]);
      return { output: 'null' };
    };
    const invoker = scriptedInvoker({ ping: write('pong_table'), pong: write('ping_table') });
    const functions = [
      functionDef('ping', [{ type: 'database', table: 'ping_table', operations: ['INSERT'] }]),
      functionDef('pong', [{ type: 'database', table: 'pong_table', operations: ['INSERT'] }]),
    ];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ maxTriggerDepth: 4 }), topicPrefix: prefix, logger: silentLogger() });
    await pipeline.start();
    await log.append(changes, [change('ping_table', 1)]);
    await waitFor(async () => (await readValues<DeadLetter>(log, pipeline.topics.dlq)).length === 1, 15_000, 'the loop guard dead letter');
    await sleep(200);
    await pipeline.stop();
    assert.equal(invoker.calls.length, 5, 'depths 0..4 invoke, depth 5 is stopped');
    const [letter] = await readValues<DeadLetter>(log, pipeline.topics.dlq);
    assert.equal(letter?.stage, 'loop-guard');
    assert.equal(letter?.triggerDepth, 5);
  });

  it('resumes from the committed offsets after a restart without invoking twice', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ once: () => ({ output: 'null' }) });
    const functions = [functionDef('once', [{ type: 'database', table: 'r', operations: ['INSERT'] }])];
    const options = { log, invoker, functions, config: pipelineConfig(), topicPrefix: prefix, logger: silentLogger() };
    const first = createPipeline(options);
    await first.start();
    await log.append(changes, Array.from({ length: 20 }, (_, i) => change('r', i)));
    await waitFor(() => invoker.calls.length === 20, 15_000, '20 calls');
    await first.stop();
    assert.equal((await log.committedOffsets('aerofn-pipeline', changes)).get(0), 20);
    const second = createPipeline(options);
    await second.start();
    await log.append(changes, Array.from({ length: 5 }, (_, i) => change('r', 100 + i)));
    await waitFor(() => invoker.calls.length === 25, 15_000, '25 calls');
    await sleep(100);
    await second.stop();
    assert.equal(invoker.calls.length, 25);
    assert.equal(second.recentInvocations('once', 100).length, 25, 'the recent list is seeded from the invocations topic');
  });

  it('writes results and offsets in one transaction in exactly_once mode', async () => {
    const prefix = uniquePrefix();
    const changes = `${prefix}aerodb.changes`;
    const invoker = scriptedInvoker({ tx: () => ({ output: 'null' }) });
    const functions = [functionDef('tx', [{ type: 'database', table: 'x', operations: ['INSERT'] }])];
    const pipeline = createPipeline({ log, invoker, functions, config: pipelineConfig({ mode: 'exactly_once', groupId: `${prefix}eos` }), topicPrefix: prefix, logger: silentLogger(), instanceId: 'test' });
    await pipeline.start();
    await log.append(changes, Array.from({ length: 30 }, (_, i) => change('x', i)));
    await waitFor(async () => (await log.committedOffsets(`${prefix}eos`, changes)).get(0) === 30, 15_000, 'offsets committed');
    await pipeline.stop();
    assert.equal((await readValues<InvocationRecord>(log, pipeline.topics.invocations)).length, 30);
  });

  it('describes itself like a Kafka Streams topology', async () => {
    const pipeline = createPipeline({ log, invoker: scriptedInvoker({}), functions: [], config: pipelineConfig(), topicPrefix: 'p.', logger: silentLogger() });
    const text = pipeline.describeText();
    assert.match(text, /Sub-topology: 0/);
    assert.match(text, /Source: change-source \(topics: \[p\.aerodb\.changes\]\)\n {6}--> decode/);
    assert.match(text, /Processor: invoke \(stores: \[\]\)\n {6}--> invocations-sink, metrics-sink, dlq-sink, commit\n {6}<-- match/);
    assert.match(text, /Sink: dlq-sink \(topic: p\.aerofn\.dlq\)\n {6}<-- decode, loop-guard, invoke/);
  });
});
