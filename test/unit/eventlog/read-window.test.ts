import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EventLog, LogRecord } from '../../../src/eventlog/index.js';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { FRAME_HEADER_BYTES } from '../../../src/eventlog/embedded/record-format.js';
import { silentLogger } from '../../../src/observability/index.js';
import { collector, readAll } from '../../conformance/event-log.suite.js';

// The embedded reader fetches a segment in windows of this many bytes (partition-log.ts READ_WINDOW).
// A record whose size prefix, header or payload falls across a window's end must be read again from
// its start, never reported as corrupt: the bytes on disk are whole.
const WINDOW = 1024 * 1024;
const MiB = 1024 * 1024;

const root = await mkdtemp(join(tmpdir(), 'aerofn-read-window-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;

/** A record (null key, no headers) whose frame on disk is exactly `frameBytes` long, filled with a byte that names it. */
function recordOfFrameSize(frameBytes: number, fill: number): { value: Buffer } {
  return { value: Buffer.alloc(frameBytes - FRAME_HEADER_BYTES, fill & 0xff) };
}

interface Layout {
  readonly topic: string;
  /** Frame sizes in append order. */
  readonly frames: readonly number[];
}

async function write(log: EventLog, layouts: readonly Layout[]): Promise<void> {
  for (const { topic, frames } of layouts) {
    await log.ensureTopic({ name: topic, partitions: 1 });
    // One append per record keeps each append well under the per-record limit and mirrors a pipeline's many small appends.
    for (const [i, size] of frames.entries()) await log.append(topic, [recordOfFrameSize(size, i + 1)]);
  }
}

function assertRecords(topic: string, frames: readonly number[], records: readonly LogRecord[]): void {
  assert.equal(records.length, frames.length, `${topic}: record count`);
  for (const [i, record] of records.entries()) {
    assert.equal(record.offset, i, `${topic}: offset order`);
    assert.equal(record.value!.length, frames[i]! - FRAME_HEADER_BYTES, `${topic}: length of record ${i}`);
    assert.ok(record.value!.every((b) => b === ((i + 1) & 0xff)), `${topic}: bytes of record ${i}`);
  }
}

async function checkBothWays(layouts: readonly Layout[]): Promise<void> {
  const log = await openEmbeddedEventLog({ dataDir: join(root, `d${n++}`), logger: silentLogger(), fsync: false });
  try {
    await write(log, layouts);
    for (const { topic, frames } of layouts) assertRecords(topic, frames, await readAll(log, topic, 0, 0));

    const got = collector();
    const total = layouts.reduce((sum, l) => sum + l.frames.length, 0);
    const sub = await log.subscribe({ groupId: `g${n}`, topics: layouts.map((l) => l.topic), start: 'earliest', eachBatch: got.eachBatch });
    try {
      // A reader that wrongly finds corruption logs and retries forever: the wait times out instead.
      await got.waitFor(total, 15_000);
    } finally {
      await sub.close();
    }
    for (const { topic, frames } of layouts) assertRecords(topic, frames, got.records.filter((r) => r.topic === topic));
  } finally {
    await log.close();
  }
}

describe('embedded log reads across its 1 MiB read windows', () => {
  it('reads a record whose size prefix, header or payload starts k bytes before the window end, for every k up to past the header', async () => {
    // The first frame ends k bytes before the first window's end, so the window holds the first k
    // bytes of the next frame: k = 1..3 splits the u32 size prefix, 4..35 the header, 36.. the payload.
    const layouts: Layout[] = [];
    for (let k = 1; k <= FRAME_HEADER_BYTES + 12; k++) layouts.push({ topic: `split-${k}`, frames: [WINDOW - k, FRAME_HEADER_BYTES + 10, FRAME_HEADER_BYTES + 3] });
    await checkBothWays(layouts);
  });

  it('reads a split record in a later window too (windows after the first start at a record boundary)', async () => {
    // Small records first, so the second window starts mid-log at the first record the first window cut.
    const layouts: Layout[] = [];
    for (const k of [1, 2, 3, 4, 17, 35, 36]) {
      const small = Array.from({ length: 100 }, (_, i) => FRAME_HEADER_BYTES + 20 + ((i * 37) % 200));
      const used = small.reduce((a, b) => a + b, 0);
      // The filler ends 500 bytes before the first window's end, so that window cuts the next record
      // and the second window starts at it (WINDOW - 500); that record ends k bytes before the second window's end.
      const filler = WINDOW - used - 500;
      layouts.push({ topic: `later-${k}`, frames: [...small, filler, WINDOW - k, FRAME_HEADER_BYTES + 1, FRAME_HEADER_BYTES + 2] });
    }
    await checkBothWays(layouts);
  });

  it('reads a 3 MiB record (larger than a window) wherever it starts, and the records around it', async () => {
    const big = 3 * MiB + 123;
    const layouts: Layout[] = [
      { topic: 'big-first', frames: [big, FRAME_HEADER_BYTES + 5] },
      // After the big record the next window starts at its end; the record after it straddles that window's end.
      { topic: 'big-then-split', frames: [big, WINDOW - 2, FRAME_HEADER_BYTES + 7, FRAME_HEADER_BYTES] },
    ];
    // The big record's own size prefix / header straddles the first window's end.
    for (const k of [1, 2, 3, 4, 20, 35, 36, 1000]) layouts.push({ topic: `big-at-${k}`, frames: [WINDOW - k, big, FRAME_HEADER_BYTES + 9] });
    await checkBothWays(layouts);
  });

  it('replays many small records of varied sizes (the pipeline benchmark shape)', async () => {
    // 60,000 records of 40..250 bytes (~8 MiB): windows end at many different places inside records.
    const frames = Array.from({ length: 60_000 }, (_, i) => FRAME_HEADER_BYTES + 4 + ((i * 7919) % 211));
    const log = await openEmbeddedEventLog({ dataDir: join(root, `d${n++}`), logger: silentLogger(), fsync: false });
    try {
      await log.ensureTopic({ name: 'many', partitions: 1 });
      for (let i = 0; i < frames.length; i += 1000) await log.append('many', frames.slice(i, i + 1000).map((size, j) => recordOfFrameSize(size, i + j + 1)));
      assertRecords('many', frames, await readAll(log, 'many', 0, 0));
      const got = collector();
      const sub = await log.subscribe({ groupId: 'many', topics: ['many'], start: 'earliest', eachBatch: got.eachBatch });
      try {
        await got.waitFor(frames.length, 15_000);
      } finally {
        await sub.close();
      }
      assertRecords('many', frames, got.records);
    } finally {
      await log.close();
    }
  });
});
