import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Batch, EventLog, LogRecord, Subscription } from '../../src/eventlog/index.js';
import { partitionForKey } from '../../src/eventlog/index.js';

/**
 * One suite for every EventLog adapter. `open` must return a log over the same storage each time
 * (the suite closes one before opening the next when it checks what survives a reopen).
 */
export function eventLogSuite(name: string, open: () => Promise<EventLog>): void {
  describe(`EventLog conformance: ${name}`, () => {
    let log: EventLog;
    const topicOf = (what: string): string => `conf.${what}.${randomUUID().slice(0, 8)}`;

    before(async () => {
      log = await open();
    });
    after(async () => {
      await log.close();
    });

    it('reads back appended records in offset order with key, value, headers and timestamp', async () => {
      const topic = topicOf('order');
      await log.ensureTopic({ name: topic });
      const t0 = Date.now() - 10_000;
      const results = await log.append(topic, Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 3}`, value: `v${i}`, headers: { n: String(i) }, timestamp: t0 + i })));
      assert.deepEqual(results.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => i));
      const more = await log.append(topic, [{ value: Buffer.from([0, 1, 2]) }, { key: 'tomb', value: null }]);
      assert.deepEqual(more.map((r) => r.offset), [50, 51]);
      const records = await readAll(log, topic, 0, 0);
      assert.equal(records.length, 52);
      records.slice(0, 50).forEach((r, i) => {
        assert.equal(r.offset, i);
        assert.equal(r.key, `k${i % 3}`);
        assert.equal(r.value?.toString(), `v${i}`);
        assert.deepEqual(r.headers, { n: String(i) });
        assert.equal(r.timestamp, t0 + i);
        assert.equal(r.topic, topic);
        assert.equal(r.partition, 0);
      });
      assert.deepEqual(records[50]!.value, Buffer.from([0, 1, 2]));
      assert.equal(records[50]!.key, null);
      assert.equal(records[51]!.value, null);
    });

    it('sends a key to the same partition every time: murmur2 of the key, as Kafka does', async () => {
      const topic = topicOf('keyed');
      await log.ensureTopic({ name: topic, partitions: 4 });
      assert.equal(await log.partitionCount(topic), 4);
      const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const first = await log.append(topic, keys.map((key) => ({ key, value: '1' })));
      const second = await log.append(topic, keys.map((key) => ({ key, value: '2' })));
      keys.forEach((key, i) => {
        assert.equal(first[i]!.partition, partitionForKey(key, 4));
        assert.equal(second[i]!.partition, first[i]!.partition);
      });
      assert.ok(new Set(first.map((r) => r.partition)).size > 1, 'keys spread over partitions');
      const ends = await log.endOffsets(topic);
      assert.equal(ends.reduce((a, b) => a + b, 0), 80);
      for (let p = 0; p < 4; p++) {
        const records = await readAll(log, topic, p, 0);
        const perKey = new Map<string, string[]>();
        for (const r of records) perKey.set(r.key!, [...(perKey.get(r.key!) ?? []), r.value!.toString()]);
        for (const values of perKey.values()) assert.deepEqual(values, ['1', '2']);
      }
    });

    it('reads from an offset, honours maxRecords and returns [] at the end', async () => {
      const topic = topicOf('from');
      await log.ensureTopic({ name: topic });
      await log.append(topic, Array.from({ length: 30 }, (_, i) => ({ value: String(i) })));
      const page = await log.read(topic, 0, 10, { maxRecords: 5 });
      assert.deepEqual(page.map((r) => r.offset), [10, 11, 12, 13, 14]);
      const rest = await readAll(log, topic, 0, 25);
      assert.deepEqual(rest.map((r) => r.value!.toString()), ['25', '26', '27', '28', '29']);
      assert.deepEqual(await log.read(topic, 0, 30), []);
      const back = await log.read(topic, 0, 3, { maxRecords: 1 });
      assert.equal(back[0]!.offset, 3);
    });

    it('reports start and end offsets and finds an offset by timestamp', async () => {
      const topic = topicOf('offsets');
      await log.ensureTopic({ name: topic, partitions: 2 });
      assert.deepEqual(await log.startOffsets(topic), [0, 0]);
      assert.deepEqual(await log.endOffsets(topic), [0, 0]);
      const t0 = Date.now() - 60_000;
      await log.append(topic, [1000, 2000, 3000, 4000].map((dt, i) => ({ value: String(i), timestamp: t0 + dt, partition: 1 })));
      assert.deepEqual(await log.endOffsets(topic), [0, 4]);
      assert.deepEqual(await log.startOffsets(topic), [0, 0]);
      assert.equal(await log.offsetForTimestamp(topic, 1, t0), 0);
      assert.equal(await log.offsetForTimestamp(topic, 1, t0 + 2500), 2);
      assert.equal(await log.offsetForTimestamp(topic, 1, t0 + 3000), 2);
      assert.equal(await log.offsetForTimestamp(topic, 1, t0 + 9000), 4);
    });

    it('keeps committed offsets across a reopen', async () => {
      const topic = topicOf('commit');
      const group = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic, partitions: 2 });
      await log.append(topic, [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }, { value: 'c', partition: 1 }]);
      assert.equal((await log.committedOffsets(group, topic)).size, 0);
      await log.commitOffsets(group, [{ topic, partition: 0, offset: 1 }, { topic, partition: 1, offset: 2 }]);
      await log.close();
      log = await open();
      assert.deepEqual([...(await log.committedOffsets(group, topic))].sort(), [[0, 1], [1, 2]]);
      assert.deepEqual(await log.endOffsets(topic), [1, 2]);
    });

    it('delivers batches in offset order and a new member resumes from the committed offset', async () => {
      const topic = topicOf('subscribe');
      const group = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic, partitions: 2 });
      await log.append(topic, Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 5}`, value: String(i) })));
      const seen = collector();
      let sub = await log.subscribe({ groupId: group, topics: [topic], eachBatch: seen.eachBatch });
      await seen.waitFor(40);
      for (let p = 0; p < 2; p++) {
        const offsets = seen.records.filter((r) => r.partition === p).map((r) => r.offset);
        assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
        assert.equal(new Set(offsets).size, offsets.length);
      }
      const ends = await log.endOffsets(topic);
      await log.commitOffsets(group, ends.map((offset, partition) => ({ topic, partition, offset })));
      await sub.close();
      await log.append(topic, Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `late${i}` })));
      const again = collector();
      sub = await log.subscribe({ groupId: group, topics: [topic], eachBatch: again.eachBatch });
      await again.waitFor(6);
      await sleep(300);
      assert.deepEqual(again.records.map((r) => r.value!.toString()).sort(), ['late0', 'late1', 'late2', 'late3', 'late4', 'late5']);
      await sub.close();
    });

    it("splits the partitions among the members of a group, and hands a leaving member's partitions to the rest", async () => {
      const topic = topicOf('members');
      const group = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic, partitions: 4 });
      const append = (from: number, n: number) => log.append(topic, Array.from({ length: n }, (_, i) => ({ partition: (from + i) % 4, value: String(from + i) })));
      // Each member commits what it was given, as the pipeline does: the next owner starts there.
      const member = () => {
        const records: LogRecord[] = [];
        return {
          records,
          eachBatch: async (batch: Batch) => {
            records.push(...batch.records);
            await log.commitOffsets(group, [{ topic, partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 }]);
          },
        };
      };
      const owned = async (sub: Subscription): Promise<number[]> => (await sub.assignments()).filter((a) => a.topic === topic).map((a) => a.partition).sort();
      const until = async (what: string, done: () => Promise<boolean>): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while (!(await done())) {
          if (Date.now() > deadline) throw new Error(`waited 30 s for ${what}`);
          await sleep(50);
        }
      };
      const values = (records: LogRecord[]) => records.map((r) => Number(r.value!.toString()));
      await append(0, 20);
      const first = member();
      const second = member();
      const a = await log.subscribe({ groupId: group, topics: [topic], start: 'earliest', eachBatch: first.eachBatch });
      await until('the first member to read what is there', async () => first.records.length >= 20);
      const b = await log.subscribe({ groupId: group, topics: [topic], start: 'earliest', eachBatch: second.eachBatch });
      // Kafka rebalances on the first member's next heartbeat.
      await until('both members to own partitions', async () => {
        const [ofA, ofB] = await Promise.all([owned(a), owned(b)]);
        return ofA.length > 0 && ofB.length > 0 && ofA.length + ofB.length === 4;
      });
      const [ofA, ofB] = await Promise.all([owned(a), owned(b)]);
      assert.deepEqual([...ofA, ...ofB].sort(), [0, 1, 2, 3], 'every partition has one owner');
      const seenBefore = { a: first.records.length, b: second.records.length };
      await append(20, 40);
      await until('the 40 new records', async () => first.records.length - seenBefore.a + second.records.length - seenBefore.b >= 40);
      await sleep(300);
      const splitA = first.records.slice(seenBefore.a);
      const splitB = second.records.slice(seenBefore.b);
      assert.ok(splitA.every((r) => ofA.includes(r.partition)) && splitB.every((r) => ofB.includes(r.partition)), 'each member got only its own partitions');
      assert.deepEqual([...values(splitA), ...values(splitB)].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => 20 + i), 'each new record once, to one member');
      // The first member leaves: the second takes its partitions over where the group committed.
      await a.close();
      await until('the second member to own every partition', async () => (await owned(b)).length === 4);
      const before = second.records.length;
      await append(60, 20);
      await until('the last 20 records', async () => values(second.records.slice(before)).filter((v) => v >= 60).length >= 20);
      assert.deepEqual(values(second.records.slice(before)).filter((v) => v >= 60).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => 60 + i));
      await b.close();
    });

    it('stops delivering while paused and delivers again after resume; start "latest" skips the past', async () => {
      const topic = topicOf('pause');
      await log.ensureTopic({ name: topic });
      await log.append(topic, [{ value: 'old' }]);
      const seen = collector();
      const sub: Subscription = await log.subscribe({ groupId: `g-${randomUUID()}`, topics: [topic], start: 'latest', eachBatch: seen.eachBatch });
      await log.append(topic, [{ value: 'first' }]);
      await seen.waitFor(1);
      sub.pause();
      await sleep(300);
      await log.append(topic, [{ value: 'while-paused' }]);
      await sleep(1500);
      assert.deepEqual(seen.records.map((r) => r.value!.toString()), ['first']);
      sub.resume();
      await seen.waitFor(2);
      assert.deepEqual(seen.records.map((r) => r.value!.toString()), ['first', 'while-paused']);
      const lag = await sub.assignments();
      assert.deepEqual(lag.map((a) => [a.topic, a.partition]), [[topic, 0]]);
      await sub.close();
    });

    it('delivers the records a handler handed back ({ taken }) again, first in the partition\'s next batch', async () => {
      const topic = topicOf('taken');
      await log.ensureTopic({ name: topic });
      await log.append(topic, Array.from({ length: 10 }, (_, i) => ({ value: String(i) })));
      const taken: number[] = [];
      const firstOffsets: number[] = [];
      const sub = await log.subscribe({
        groupId: `g-${randomUUID()}`,
        topics: [topic],
        eachBatch: async (batch) => {
          firstOffsets.push(batch.records[0]!.offset);
          // The first batch gives back all but its first 3 records, the next takes none at all.
          const count = firstOffsets.length === 1 ? 3 : firstOffsets.length === 2 ? 0 : batch.records.length;
          taken.push(...batch.records.slice(0, count).map((r) => r.offset));
          return count === batch.records.length ? undefined : { taken: count };
        },
      });
      const deadline = Date.now() + 20_000;
      while (taken.length < 10 && Date.now() < deadline) await sleep(20);
      await sleep(300);
      await sub.close();
      assert.deepEqual(taken, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each record taken once, in order');
      assert.deepEqual(firstOffsets.slice(0, 3), [0, 3, 3], 'the next batch starts at the first record handed back');
    });

    it('starts a group at a timestamp and reports lag as end offset minus committed offset', async () => {
      const topic = topicOf('lag');
      const group = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic });
      const t0 = Date.now() - 60_000;
      await log.append(topic, Array.from({ length: 10 }, (_, i) => ({ value: String(i), timestamp: t0 + i * 1000 })));
      const seen = collector();
      const sub = await log.subscribe({ groupId: group, topics: [topic], start: { timestamp: t0 + 6000 }, eachBatch: seen.eachBatch });
      await seen.waitFor(4);
      await sleep(300);
      assert.deepEqual(seen.records.map((r) => r.value!.toString()), ['6', '7', '8', '9']);
      await log.commitOffsets(group, [{ topic, partition: 0, offset: 8 }]);
      assert.deepEqual(await sub.assignments(), [{ topic, partition: 0, lag: 2 }]);
      await log.commitOffsets(group, [{ topic, partition: 0, offset: 10 }]);
      assert.deepEqual(await sub.assignments(), [{ topic, partition: 0, lag: 0 }]);
      await sub.close();
    });

    it('reports lag from the start of the log for a group that has committed nothing, even while it holds the records', async () => {
      const topic = topicOf('lag-uncommitted');
      await log.ensureTopic({ name: topic });
      await log.append(topic, Array.from({ length: 5 }, (_, i) => ({ value: String(i) })));
      const seen = collector();
      const sub = await log.subscribe({ groupId: `g-${randomUUID()}`, topics: [topic], start: 'earliest', eachBatch: seen.eachBatch });
      await seen.waitFor(5);
      assert.deepEqual(await sub.assignments(), [{ topic, partition: 0, lag: 5 }]);
      await sub.close();
    });

    it('shows the newest record of each key on a compacted topic', async () => {
      const topic = topicOf('compacted');
      await log.ensureTopic({ name: topic, compacted: true });
      await log.append(topic, [{ key: 'a', value: '1' }, { key: 'b', value: '1' }, { key: 'a', value: '2' }, { key: 'c', value: '1' }, { key: 'a', value: '3' }]);
      const newest = new Map<string, string>();
      const records = await readAll(log, topic, 0, 0);
      for (const r of records) newest.set(r.key!, r.value!.toString());
      assert.deepEqual(Object.fromEntries(newest), { a: '3', b: '1', c: '1' });
      assert.equal(records[records.length - 1]!.value!.toString(), '3');
      assert.deepEqual(await log.endOffsets(topic), [5]);
    });

    it('makes a transaction\'s records and offsets visible on commit and never after abort', async () => {
      const topic = topicOf('txn');
      const group = `g-${randomUUID()}`;
      await log.ensureTopic({ name: topic });
      const aborted = await log.beginTransaction(`tx-${randomUUID()}`);
      await aborted.append(topic, [{ value: 'aborted-1' }, { value: 'aborted-2' }]);
      await aborted.commitOffsets(group, [{ topic, partition: 0, offset: 7 }]);
      await aborted.abort();
      const txId = `tx-${randomUUID()}`;
      const committed = await log.beginTransaction(txId);
      await committed.append(topic, [{ value: 'ok-1' }, { value: 'ok-2' }]);
      await committed.commitOffsets(group, [{ topic, partition: 0, offset: 1 }]);
      await committed.commit();
      const values = (await readAll(log, topic, 0, 0)).map((r) => r.value!.toString());
      assert.deepEqual(values, ['ok-1', 'ok-2']);
      assert.deepEqual([...(await log.committedOffsets(group, topic))], [[0, 1]]);
      const next = await log.beginTransaction(txId);
      await next.append(topic, [{ value: 'ok-3' }]);
      await next.commit();
      const all = (await readAll(log, topic, 0, 0)).map((r) => r.value!.toString());
      assert.deepEqual(all, ['ok-1', 'ok-2', 'ok-3']);
    });

    it('stores and reads back an 8 MiB record', async () => {
      const topic = topicOf('large');
      await log.ensureTopic({ name: topic, maxMessageBytes: 16 * 1024 * 1024 });
      const big = Buffer.alloc(8 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      await log.append(topic, [{ key: 'small', value: 'x' }]);
      const [result] = await log.append(topic, [{ key: 'module', value: big }]);
      assert.equal(result!.offset, 1);
      const records = await readAll(log, topic, 0, 0, { maxBytes: 1024 * 1024 });
      assert.equal(records.length, 2);
      assert.ok(records[1]!.value!.equals(big));
    });
  });
}

/** Reads a partition from `from` until the end offset it has now. */
export async function readAll(log: EventLog, topic: string, partition: number, from: number, options: { maxBytes?: number } = {}): Promise<LogRecord[]> {
  const end = (await log.endOffsets(topic))[partition]!;
  const out: LogRecord[] = [];
  let position = from;
  while (position < end) {
    const records = await log.read(topic, partition, position, { maxRecords: 1000, maxWaitMs: 100, ...options });
    if (records.length === 0) break;
    out.push(...records);
    position = records[records.length - 1]!.offset + 1;
  }
  return out;
}

export function collector(): { records: LogRecord[]; eachBatch: (batch: Batch) => Promise<void>; waitFor: (n: number, ms?: number) => Promise<void> } {
  const records: LogRecord[] = [];
  return {
    records,
    eachBatch: async (batch) => {
      records.push(...batch.records);
    },
    waitFor: async (n, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (records.length < n) {
        if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${n} records, got ${records.length}`);
        await sleep(20);
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
