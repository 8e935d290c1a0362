import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';
import { connectEventLog, EventLogError, isEventLogError, openEmbeddedEventLog, serveEventLog, type Batch, type EventLog, type LogRecord, type SubscribeOptions } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { collector, readAll, sleep } from '../../conformance/event-log.suite.js';
import type { LogClientData, LogClientReport } from '../../fixtures/eventlog-thread/log-client.js';
import type { LogOwnerReport } from '../../fixtures/eventlog-thread/log-owner.js';
import { openThreadLog, type ThreadLog } from '../../fixtures/eventlog-thread/open-thread-log.js';
import { startWorker, untilReady } from '../../fixtures/eventlog-thread/start-worker.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aerofn-eventlog-thread-'));
  dirs.push(dir);
  return dir;
}

const topicOf = (what: string): string => `thread.${what}.${randomUUID().slice(0, 8)}`;

async function until<T>(what: string, get: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(20);
  }
}

/** Resolves when `worker` exits; fails the test if it is still running after `ms`. */
async function exitWithin(worker: Worker, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the worker was still running after ${ms} ms`)), ms)));
  try {
    await Promise.race([once(worker, 'exit'), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function rejectsClosed(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(isEventLogError(error, 'CLOSED'), `expected EventLogError CLOSED, got ${String(error)}`);
    return true;
  });
}

describe('ThreadEventLog', () => {
  it("fails the log's eachBatch with the error the client's eachBatch threw, and the log delivers the batch again", async () => {
    const { log, reports }: ThreadLog = await openThreadLog(await freshDir(), { spyBatches: true });
    try {
      const topic = topicOf('failing');
      await log.ensureTopic({ name: topic });
      await log.append(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
      const deliveries: number[][] = [];
      const failures = [
        Object.assign(new Error('the handler broke'), { name: 'HandlerError', retriable: true }),
        new EventLogError('BACKEND', 'the sink is down'),
      ];
      const sub = await log.subscribe({
        groupId: `g-${randomUUID()}`,
        topics: [topic],
        eachBatch: async (batch: Batch) => {
          deliveries.push(batch.records.map((r) => r.offset));
          const failure = failures.shift();
          if (failure !== undefined) throw failure;
        },
      });
      // The embedded log waits 1 s after a failed batch before it delivers it again.
      await until('the third delivery', () => (deliveries.length >= 3 ? true : undefined), 10_000);
      await sub.close();
      assert.deepEqual(deliveries, [[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
      const failed = reports.filter((r): r is Extract<LogOwnerReport, { type: 'batch-failed' }> => r.type === 'batch-failed');
      assert.deepEqual(
        failed.map((r) => [r.offsets, r.error]),
        [
          [[0, 1, 2], { name: 'HandlerError', message: 'the handler broke', code: undefined, retriable: true, isEventLogError: false }],
          [[0, 1, 2], { name: 'EventLogError', message: 'the sink is down', code: 'BACKEND', retriable: undefined, isEventLogError: true }],
        ],
      );
    } finally {
      await log.close();
    }
  });

  it('round-trips binary values (zero bytes, empty, null, a slice of a pooled Buffer) as Buffers, by read, subscribe and transaction', async () => {
    const { log } = await openThreadLog(await freshDir());
    try {
      const topic = topicOf('binary');
      await log.ensureTopic({ name: topic });
      const pooled = Buffer.from('pooled:\u0000tail');
      const values: Array<Buffer | string | null> = [Buffer.from([0, 0, 255, 0, 7]), Buffer.alloc(0), null, 'text ✓', pooled.subarray(7), Buffer.from([0])];
      const results = await log.append(topic, values.map((value, i) => ({ key: i % 2 === 0 ? `k${i}` : null, value, ...(i === 3 ? { headers: { h: 'v' } } : {}) })));
      assert.deepEqual(results, values.map((_, i) => ({ partition: 0, offset: i })));
      const txn = await log.beginTransaction(`tx-${randomUUID()}`);
      await txn.append(topic, [{ value: Buffer.from([9, 0, 9]) }, { value: Buffer.alloc(0) }]);
      await txn.commit();
      const expected = [...values, Buffer.from([9, 0, 9]), Buffer.alloc(0)].map((v) => (typeof v === 'string' ? Buffer.from(v) : v));

      const check = (records: readonly LogRecord[], how: string): void => {
        assert.equal(records.length, expected.length, how);
        records.forEach((record, i) => {
          const want = expected[i]!;
          if (want === null) return assert.equal(record.value, null, `${how}: record ${i} stays null`);
          assert.ok(Buffer.isBuffer(record.value), `${how}: record ${i} is a Buffer`);
          assert.equal(record.value.toString('hex'), want.toString('hex'), `${how}: record ${i}'s bytes`);
        });
        assert.equal(records[0]!.key, 'k0');
        assert.equal(records[1]!.key, null);
        assert.deepEqual(records[3]!.headers, { h: 'v' });
        assert.deepEqual(records[0]!.headers, {});
      };
      check(await readAll(log, topic, 0, 0), 'read');
      const seen = collector();
      const sub = await log.subscribe({ groupId: `g-${randomUUID()}`, topics: [topic], eachBatch: seen.eachBatch });
      await seen.waitFor(expected.length);
      await sub.close();
      check(seen.records, 'subscribe');
    } finally {
      await log.close();
    }
  });

  it("keeps an error's class, name and code across the thread", async () => {
    const { log } = await openThreadLog(await freshDir());
    try {
      const expectCode = (code: string, pattern: RegExp) => (error: unknown) => {
        assert.ok(error instanceof EventLogError, `an EventLogError, not ${String(error)}`);
        assert.equal(error.code, code);
        assert.equal(error.name, 'EventLogError');
        assert.match(error.message, pattern);
        return true;
      };
      await assert.rejects(log.partitionCount('thread.nothing'), expectCode('UNKNOWN_TOPIC', /thread\.nothing/));
      await assert.rejects(log.ensureTopic({ name: '.hidden' }), expectCode('INVALID_ARGUMENT', /invalid topic name/));
      const topic = topicOf('errors');
      await log.ensureTopic({ name: topic });
      await assert.rejects(log.append(topic, [{ value: 'x', partition: 3 }]), expectCode('INVALID_ARGUMENT', /not 3/));
      const txn = await log.beginTransaction(`tx-${randomUUID()}`);
      await txn.commit();
      await assert.rejects(txn.append(topic, [{ value: 'late' }]), expectCode('TRANSACTION_STATE', /already committed/));
    } finally {
      await log.close();
    }
    await rejectsClosed(log.endOffsets('anything'));
  });

  it("rejects a pending call with CLOSED when the owner's thread goes away, and every call after it", async () => {
    const { log, worker } = await openThreadLog(await freshDir());
    const topic = topicOf('gone');
    await log.ensureTopic({ name: topic });
    // At the end of the partition the read waits 20 s for a record that never comes.
    const pending = rejectsClosed(log.read(topic, 0, 0, { maxWaitMs: 20_000 }));
    await sleep(100);
    const began = Date.now();
    await worker.terminate();
    await pending;
    assert.ok(Date.now() - began < 5000, 'rejected when the port closed, not when the read timed out');
    await rejectsClosed(log.partitionCount(topic));
    await log.close();
  });

  it("settles pending calls when the owner closes its server, rejects the calls after it with CLOSED, and ends the client's subscriptions", async () => {
    const { log, worker } = await openThreadLog(await freshDir());
    const topic = topicOf('owner-close');
    await log.ensureTopic({ name: topic });
    const seen = collector();
    const sub = await log.subscribe({ groupId: `g-${randomUUID()}`, topics: [topic], eachBatch: seen.eachBatch });
    // The owner's log wakes a waiting read when it closes ([]); had it not, the port's close rejects it.
    const pending = log.read(topic, 0, 0, { maxWaitMs: 20_000 }).then(
      (records) => assert.deepEqual(records, []),
      (error: unknown) => assert.ok(isEventLogError(error, 'CLOSED'), String(error)),
    );
    await sleep(100);
    // Held open here (openThreadLog unrefs it) so that waiting for its exit keeps this test running.
    worker.ref();
    const exited = exitWithin(worker, 10_000);
    const began = Date.now();
    worker.postMessage('close-server');
    await pending;
    assert.ok(Date.now() - began < 5000, 'settled by the close, not by the read timing out');
    await rejectsClosed(log.append(topic, [{ value: 'late' }]));
    await rejectsClosed(sub.assignments());
    await sub.close();
    // Serving over and its log closed, the owner's thread has nothing left to do.
    await exited;
  });

  it("ends only the client's own subscription when the client closes, and the owner keeps its log", async () => {
    const log = await openEmbeddedEventLog({ dataDir: await freshDir(), logger: silentLogger() });
    try {
      const topic = topicOf('client-close');
      const groupId = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic, partitions: 2 });
      await log.append(topic, [{ value: 'one', partition: 0 }, { value: 'two', partition: 1 }]);
      const { port1, port2 } = new MessageChannel();
      const server = serveEventLog(log, port1);
      const data: LogClientData = { port: port2, topic, groupId };
      const worker = startWorker(new URL('../../fixtures/eventlog-thread/log-client.ts', import.meta.url), data, [port2]);
      const values: Array<string | null> = [];
      worker.on('message', (report: LogClientReport) => {
        if (report.type === 'values') values.push(...report.values);
      });
      await untilReady(worker);
      await until('both records in the client thread', () => (values.length >= 2 ? true : undefined));
      assert.deepEqual([...values].sort(), ['one', 'two']);
      const exited = exitWithin(worker, 10_000);
      worker.postMessage('close');
      await server.closed;
      // The client holds nothing open once closed: its thread ends by itself.
      await exited;
      // The worker's member left the group: a member here gets both partitions.
      const local = collector();
      const sub = await log.subscribe({ groupId, topics: [topic], start: 'latest', eachBatch: local.eachBatch });
      assert.deepEqual((await sub.assignments()).map((a) => a.partition).sort(), [0, 1]);
      await log.append(topic, [{ value: 'three', partition: 1 }]);
      await local.waitFor(1);
      await sub.close();
    } finally {
      await log.close();
    }
  });
  it("passes a rebalance's request for a batch back (yieldRequested) to the client, and the records it hands back come again", async () => {
    const log = await openEmbeddedEventLog({ dataDir: await freshDir(), logger: silentLogger() });
    // The embedded log never asks (it revokes instead); a log that asks as Kafka's adapter does
    // once a rebalance waits, here while the client holds its first batch.
    let asking = false;
    const asks = new Proxy(log, {
      get(target, property, receiver) {
        if (property !== 'subscribe') return Reflect.get(target, property, receiver) as unknown;
        return (options: SubscribeOptions) => target.subscribe({ ...options, eachBatch: (batch) => options.eachBatch({ ...batch, yieldRequested: () => asking }) });
      },
    }) as EventLog;
    const { port1, port2 } = new MessageChannel();
    const server = serveEventLog(asks, port1);
    const client = connectEventLog(port2, 'embedded');
    try {
      const topic = topicOf('yield');
      await log.ensureTopic({ name: topic });
      await log.append(topic, Array.from({ length: 10 }, (_, i) => ({ value: String(i) })));
      const starts: number[] = [];
      const taken: number[] = [];
      const sub = await client.subscribe({
        groupId: `g-${randomUUID()}`,
        topics: [topic],
        eachBatch: async (batch: Batch) => {
          starts.push(batch.records[0]!.offset);
          if (starts.length > 1) {
            taken.push(...batch.records.map((r) => r.offset));
            return undefined;
          }
          assert.equal(batch.yieldRequested?.(), false, 'nothing asked yet');
          asking = true;
          await until('the request to cross to the client', () => (batch.yieldRequested?.() === true ? true : undefined));
          asking = false;
          taken.push(...batch.records.slice(0, 2).map((r) => r.offset));
          return { taken: 2 };
        },
      });
      await until('every record taken', () => (taken.length >= 10 ? true : undefined));
      await sub.close();
      assert.deepEqual(taken, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(starts.slice(0, 2), [0, 2], 'the next batch starts at the first record handed back');
    } finally {
      await client.close();
      await server.close();
      await log.close();
    }
  });
});
