import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isEventLogError, openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { encodeFrame } from '../../../src/eventlog/embedded/record-format.js';
import { writeJournal } from '../../../src/eventlog/embedded/txn-journal.js';
import { silentLogger } from '../../../src/observability/index.js';
import { readAll } from '../../conformance/event-log.suite.js';

const root = await mkdtemp(join(tmpdir(), 'aerofn-embedded-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `d${n++}`);
const open = (dataDir: string, extra: { segmentBytes?: number; fsync?: boolean } = {}) => openEmbeddedEventLog({ dataDir, logger: silentLogger(), ...extra });
const segmentsOf = async (dataDir: string, topic: string, partition = 0): Promise<string[]> =>
  (await readdir(join(dataDir, 'log', topic, String(partition)))).filter((f) => f.endsWith('.log')).sort().map((f) => join(dataDir, 'log', topic, String(partition), f));

describe('embedded event log', () => {
  it('truncates a torn tail on reopen and appends after the last whole record', async () => {
    const dir = freshDir();
    let log = await open(dir);
    await log.ensureTopic({ name: 't' });
    await log.append('t', Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })));
    await log.close();
    const [segment] = await segmentsOf(dir, 't');
    const sizeBefore = (await stat(segment!)).size;
    const frame = encodeFrame({ offset: 10, timestamp: Date.now(), key: null, value: Buffer.alloc(500, 1), headers: undefined });
    await appendFile(segment!, frame.subarray(0, 200)); // a write cut short by a crash
    log = await open(dir);
    assert.equal((await stat(segment!)).size, sizeBefore);
    assert.deepEqual(await log.endOffsets('t'), [10]);
    const [next] = await log.append('t', [{ value: 'after' }]);
    assert.equal(next!.offset, 10);
    assert.deepEqual((await readAll(log, 't', 0, 0)).map((r) => r.value!.toString()), [...Array.from({ length: 10 }, (_, i) => `v${i}`), 'after']);
    await log.close();
  });

  it('drops a last record whose CRC does not match', async () => {
    const dir = freshDir();
    let log = await open(dir);
    await log.ensureTopic({ name: 't' });
    await log.append('t', [{ value: 'kept' }, { value: 'flipped' }]);
    await log.close();
    const [segment] = await segmentsOf(dir, 't');
    const bytes = await readFile(segment!);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(segment!, bytes);
    log = await open(dir);
    assert.deepEqual((await readAll(log, 't', 0, 0)).map((r) => r.value!.toString()), ['kept']);
    await log.close();
  });

  it('rolls segments and compaction rewrites sealed ones down to the newest record per key', async () => {
    const dir = freshDir();
    let log = await open(dir, { segmentBytes: 2048 });
    await log.ensureTopic({ name: 'c', compacted: true });
    for (let round = 0; round < 20; round++) await log.append('c', ['a', 'b', 'c'].map((key) => ({ key, value: `${key}${round}`.padEnd(100, '.') })));
    await log.compact('c');
    const segments = await segmentsOf(dir, 'c');
    assert.ok(segments.length > 3, `rolled into ${segments.length} segments`);
    let bytes = 0;
    for (const s of segments) bytes += (await stat(s)).size;
    assert.ok(bytes < 60 * 136 / 2, `compaction reclaimed space (${bytes} bytes left)`);
    const check = async (): Promise<void> => {
      const records = await readAll(log, 'c', 0, 0);
      assert.deepEqual(records.map((r) => r.value!.toString().replace(/\.+$/, '')), ['a19', 'b19', 'c19']);
      assert.deepEqual(await log.endOffsets('c'), [60]);
    };
    await check();
    await log.close();
    log = await open(dir, { segmentBytes: 2048 });
    await check();
    await log.close();
  });

  it('reopens a log of many segments and reads and searches by time across all of them', async () => {
    const dir = freshDir();
    let log = await open(dir, { segmentBytes: 4096 });
    await log.ensureTopic({ name: 'm' });
    const t0 = Date.now() - 100_000;
    for (let i = 0; i < 300; i += 10) await log.append('m', Array.from({ length: 10 }, (_, j) => ({ value: `v${i + j}`.padEnd(150, '-'), timestamp: t0 + (i + j) * 100 })));
    await log.close();
    assert.ok((await segmentsOf(dir, 'm')).length > 8);
    log = await open(dir, { segmentBytes: 4096 });
    assert.equal(await log.offsetForTimestamp('m', 0, t0 + 12_345), 124);
    const page = await log.read('m', 0, 205, { maxRecords: 3 });
    assert.deepEqual(page.map((r) => r.offset), [205, 206, 207]);
    const all = await readAll(log, 'm', 0, 0);
    assert.deepEqual(all.map((r) => r.offset), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(await log.endOffsets('m'), [300]);
    const [next] = await log.append('m', [{ value: 'after reopen' }]);
    assert.equal(next!.offset, 300);
    await log.close();
  });

  it('deletes whole sealed segments past retentionMs and moves the start offset', async () => {
    const dir = freshDir();
    const log = await open(dir, { segmentBytes: 2048 });
    await log.ensureTopic({ name: 'r', retentionMs: 60_000 });
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 40; i++) await log.append('r', [{ value: 'o'.repeat(200), timestamp: old + i }]);
    for (let i = 0; i < 40; i++) await log.append('r', [{ value: 'n'.repeat(200) }]);
    const deadline = Date.now() + 5000;
    while ((await log.startOffsets('r'))[0] === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const [start] = await log.startOffsets('r');
    assert.ok(start! > 0 && start! <= 40, `start offset moved to ${start}`);
    const records = await readAll(log, 'r', 0, start!);
    assert.equal(records.filter((r) => r.value!.toString().startsWith('n')).length, 40);
    assert.equal(records[0]!.offset, start);
    await log.close();
  });

  it('lets one process at a time open a data dir and takes over the lock of a dead one', async () => {
    const dir = freshDir();
    const log = await open(dir);
    await assert.rejects(open(dir), (e: unknown) => isEventLogError(e, 'LOCKED'));
    await log.close();
    await writeFile(join(dir, 'log', '.lock'), `${process.ppid}\n`);
    await assert.rejects(open(dir), (e: unknown) => isEventLogError(e, 'LOCKED') && /in use by process/.test((e as Error).message));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'log', '.lock'), `${dead.stdout}\n`);
    const again = await open(dir);
    assert.equal((await readFile(join(dir, 'log', '.lock'), 'utf8')).trim(), String(process.pid));
    await again.close();
  });

  it('finishes a transaction that was half applied when the process died, exactly once', async () => {
    const dir = freshDir();
    let log = await open(dir);
    await log.ensureTopic({ name: 'x', partitions: 2 });
    await log.append('x', [{ value: 'p0-0', partition: 0 }, { value: 'p1-0', partition: 1 }]);
    await log.close();
    const now = Date.now();
    const frame = (offset: number, value: string) => {
      const buf = encodeFrame({ offset, timestamp: now, key: null, value: Buffer.from(value), headers: undefined });
      return { buf, offset, timestamp: now, key: null };
    };
    const p0 = [frame(1, 'tx-a'), frame(2, 'tx-b')];
    const p1 = [frame(1, 'tx-c')];
    await writeJournal(join(dir, 'log', '.txn'), { appends: [{ topic: 'x', partition: 0, frames: p0 }, { topic: 'x', partition: 1, frames: p1 }], offsets: [{ groupId: 'g', offsets: [{ topic: 'x', partition: 0, offset: 1 }] }] }, true);
    const [p0Segment] = await segmentsOf(dir, 'x', 0);
    await appendFile(p0Segment!, p0[0]!.buf); // partition 0 got part of it before the crash
    log = await open(dir);
    assert.deepEqual((await readAll(log, 'x', 0, 0)).map((r) => r.value!.toString()), ['p0-0', 'tx-a', 'tx-b']);
    assert.deepEqual((await readAll(log, 'x', 1, 0)).map((r) => r.value!.toString()), ['p1-0', 'tx-c']);
    assert.deepEqual([...(await log.committedOffsets('g', 'x'))], [[0, 1]]);
    await log.close();
    log = await open(dir);
    assert.deepEqual(await log.endOffsets('x'), [3, 2]);
    await log.close();
  });

  it('ignores a torn transaction journal (that commit never returned)', async () => {
    const dir = freshDir();
    let log = await open(dir);
    await log.ensureTopic({ name: 'y' });
    await log.close();
    await writeFile(join(dir, 'log', '.txn', 'journal'), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5]));
    log = await open(dir);
    assert.deepEqual(await log.endOffsets('y'), [0]);
    await log.close();
  });

  it('gives concurrent appends distinct, contiguous offsets (group commit), with and without fsync', async () => {
    for (const fsync of [true, false]) {
      const log = await open(freshDir(), { fsync });
      await log.ensureTopic({ name: 'g', partitions: 3 });
      const results = await Promise.all(Array.from({ length: 600 }, (_, i) => log.append('g', [{ key: `k${i}`, value: String(i) }])));
      const ends = await log.endOffsets('g');
      for (let p = 0; p < 3; p++) {
        const offsets = results.flat().filter((r) => r.partition === p).map((r) => r.offset).sort((a, b) => a - b);
        assert.deepEqual(offsets, Array.from({ length: ends[p]! }, (_, i) => i));
      }
      await log.close();
    }
  });

  it('refuses bad appends with errors that say what to do', async () => {
    const log = await open(freshDir());
    await log.ensureTopic({ name: 'small', maxMessageBytes: 1000 });
    await log.ensureTopic({ name: 'keyed', compacted: true });
    await assert.rejects(log.append('small', [{ value: Buffer.alloc(2000) }]), (e: unknown) => isEventLogError(e, 'RECORD_TOO_LARGE'));
    await assert.rejects(log.append('keyed', [{ value: 'no key' }]), (e: unknown) => isEventLogError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(log.append('missing', [{ value: 'x' }]), (e: unknown) => isEventLogError(e, 'UNKNOWN_TOPIC') && /ensureTopic/.test((e as Error).message));
    await assert.rejects(log.ensureTopic({ name: '.hidden' }), (e: unknown) => isEventLogError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(log.append('small', [{ value: 'x', partition: 3 }]), (e: unknown) => isEventLogError(e, 'INVALID_ARGUMENT'));
    await log.close();
  });

  it('wakes a waiting read as soon as a record is appended', async () => {
    const log = await open(freshDir());
    await log.ensureTopic({ name: 'w' });
    const started = Date.now();
    const pending = log.read('w', 0, 0, { maxWaitMs: 5000 });
    setTimeout(() => void log.append('w', [{ value: 'now' }]), 50);
    const records = await pending;
    assert.equal(records[0]!.value!.toString(), 'now');
    assert.ok(Date.now() - started < 2000);
    await log.close();
  });

  it('fences an older transaction when a newer one with the same id begins', async () => {
    const log = await open(freshDir());
    await log.ensureTopic({ name: 'f' });
    const old = await log.beginTransaction('same');
    await old.append('f', [{ value: 'zombie' }]);
    const fresh = await log.beginTransaction('same');
    await fresh.append('f', [{ value: 'live' }]);
    await assert.rejects(old.commit(), (e: unknown) => isEventLogError(e, 'TRANSACTION_STATE'));
    await fresh.commit();
    assert.deepEqual((await readAll(log, 'f', 0, 0)).map((r) => r.value!.toString()), ['live']);
    await log.close();
  });

  it('calls onRevoked when a joining member takes a partition, and the new owner starts after it, at what it committed', async () => {
    const log = await open(freshDir(), { fsync: false });
    await log.ensureTopic({ name: 'rv', partitions: 2 });
    await log.append('rv', Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })));
    const events: string[] = [];
    // The first member takes both partitions and, like the pipeline, commits its work later.
    const takenByFirst = new Map<number, number>();
    const first = await log.subscribe({
      groupId: 'rv-group',
      topics: ['rv'],
      start: 'earliest',
      eachBatch: async (batch) => {
        takenByFirst.set(batch.partition, batch.records[batch.records.length - 1]!.offset + 1);
      },
      onRevoked: async ({ topic, partition }) => {
        events.push(`revoked ${topic}/${partition}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await log.commitOffsets('rv-group', [{ topic, partition, offset: takenByFirst.get(partition) ?? 0 }]);
        events.push(`committed ${partition}`);
      },
    });
    while (takenByFirst.size < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await log.subscribe({
      groupId: 'rv-group',
      topics: ['rv'],
      start: 'earliest',
      eachBatch: async (batch) => {
        events.push(`second reads ${batch.partition}@${batch.records[0]!.offset}`);
      },
    });
    await log.append('rv', [{ value: 'after', partition: 1 }]);
    while (!events.some((e) => e.startsWith('second reads'))) await new Promise((resolve) => setTimeout(resolve, 5));
    // Partition 1 moved: the first member finished it before the second began, at offset 10.
    assert.deepEqual(events, ['revoked rv/1', 'committed 1', 'second reads 1@10']);
    await second.close();
    await first.close();
    await log.close();
  });
});
