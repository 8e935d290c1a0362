import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LogRecord } from '../event-log.js';
import { EventLogError } from '../event-log-error.js';
import { checkFrame, decodeFrame, FRAME_HEADER_BYTES, frameKey } from './record-format.js';
import { Segment, segmentFileName } from './segment.js';
import { removeIfExists, syncDir } from './fs-util.js';

export interface EncodedFrame {
  readonly buf: Buffer;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
}

/** A write that reached the file but is not yet visible: made visible by publish() after fsync. */
export interface StagedWrite {
  readonly segment: Segment;
  readonly newSegment: boolean;
  readonly startSize: number;
  readonly frames: readonly EncodedFrame[];
}

/** Reads go in windows of this size (one pread each), whatever maxBytes is: a bigger window only over-reads. */
const READ_WINDOW = 1024 * 1024;

/**
 * One partition: its segments (the last one takes appends), the end offset readers may see, and
 * for compacted topics the newest offset of each key. Only the log's single writer calls stage /
 * sync / publish, so offsets are assigned without locks; readers see a record only after publish.
 */
export class PartitionLog {
  private segments: readonly Segment[] = [];
  private readonly waiters = new Set<() => void>();
  private compaction: Promise<void> = Promise.resolve();

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    readonly latestByKey: Map<string, number> | null,
    private readonly retentionMs: number | undefined,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, topic: string, partition: number, settings: { compacted: boolean; retentionMs?: number | undefined }, logger: Logger): Promise<PartitionLog> {
    await mkdir(dir, { recursive: true });
    const log = new PartitionLog(topic, partition, dir, settings.compacted ? new Map() : null, settings.retentionMs, logger);
    const names = (await readdir(dir)).sort();
    for (const name of names) if (name.endsWith('.cleaned') || name.endsWith('.tmp')) await removeIfExists(join(dir, name));
    const files = names.filter((name) => /^\d{20}\.log$/.test(name));
    if (files.length === 0) files.push(segmentFileName(0));
    const segments: Segment[] = [];
    for (const [i, name] of files.entries()) {
      const base = Number(name.slice(0, 20));
      const onKey = log.latestByKey === null ? undefined : (key: string | null, offset: number) => key !== null && log.latestByKey!.set(key, offset);
      // Compacted topics need every key now; others scan a sealed segment when it is first read.
      const lazy = onKey === undefined && i < files.length - 1;
      const { segment, scan } = await Segment.open(join(dir, name), base, { create: true, lazy, ...(onKey ? { onKey } : {}) });
      if (scan.truncatedBytes > 0) {
        logger.warn({ topic, partition, segment: name, truncatedBytes: scan.truncatedBytes }, 'truncated a torn tail (records that were never acknowledged)');
      }
      segments.push(segment);
    }
    log.segments = segments;
    return log;
  }

  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  get endOffset(): number {
    return this.active.nextOffset;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Writes frames (offsets already assigned from endOffset) to the file; rolls to a new segment when the active one is full. */
  async stage(frames: readonly EncodedFrame[], segmentBytes: number): Promise<StagedWrite> {
    const data = contiguous(frames) ?? Buffer.concat(frames.map((f) => f.buf));
    let segment = this.active;
    let newSegment = false;
    if (segment.size > 0 && segment.size + data.length > segmentBytes) {
      const base = frames[0]!.offset;
      segment = (await Segment.open(join(this.dir, segmentFileName(base)), base, { create: true })).segment;
      newSegment = true;
    }
    const startSize = segment.size;
    try {
      await segment.write(data);
    } catch (error) {
      await this.unstage({ segment, newSegment, startSize, frames }).catch(() => undefined);
      throw error;
    }
    return { segment, newSegment, startSize, frames };
  }

  async sync(staged: StagedWrite): Promise<void> {
    await staged.segment.sync();
    if (staged.newSegment) await syncDir(this.dir);
  }

  /** Undoes a staged write that will not be acknowledged (the write or its fsync failed). */
  async unstage(staged: StagedWrite): Promise<void> {
    if (staged.newSegment) {
      await staged.segment.retire();
      await removeIfExists(staged.segment.path);
    } else {
      await staged.segment.truncate(staged.startSize);
    }
  }

  /** Makes a durable write visible to readers and wakes those waiting for data. */
  publish(staged: StagedWrite): void {
    if (staged.newSegment) {
      this.segments = [...this.segments, staged.segment];
      if (this.latestByKey !== null) this.scheduleCompaction();
      if (this.retentionMs !== undefined) void this.applyRetention().catch((error: unknown) => this.logger.error({ err: error, topic: this.topic }, 'deleting expired segments failed'));
    }
    let position = staged.startSize;
    for (const frame of staged.frames) {
      staged.segment.noteFrame(position, frame.offset, frame.timestamp, frame.buf.length);
      position += frame.buf.length;
      if (this.latestByKey !== null && frame.key !== null) this.latestByKey.set(frame.key, frame.offset);
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves when the end offset passes `offset`, after `ms`, or when `signal` fires. */
  waitForData(offset: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.endOffset > offset || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Records from `from` on, in offset order; at least one record when any exists, even past maxBytes. */
  async read(from: number, maxRecords: number, maxBytes: number): Promise<LogRecord[]> {
    return (await this.readBatch(from, maxRecords, maxBytes)).records;
  }

  /**
   * `next` is the offset after the last record looked at, returned or not: on a compacted topic a
   * stretch of superseded records yields no records but still moves `next`, so a follower neither
   * spins on them nor waits for an append that already happened.
   */
  async readBatch(from: number, maxRecords: number, maxBytes: number): Promise<{ records: LogRecord[]; next: number }> {
    const segments = this.segments;
    const end = segments[segments.length - 1]!.nextOffset;
    const out: LogRecord[] = [];
    let next = from;
    if (from >= end) return { records: out, next };
    let bytes = 0;
    let i = segments.length - 1;
    while (i > 0 && segments[i]!.baseOffset > from) i--;
    for (; i < segments.length && out.length < maxRecords && bytes < maxBytes; i++) {
      const segment = segments[i]!;
      segment.pin();
      try {
        await segment.indexed();
        const limit = segment.size;
        let pos = segment.positionFor(from);
        while (pos < limit && out.length < maxRecords && bytes < maxBytes) {
          let window = Math.min(limit - pos, READ_WINDOW);
          let buf = await segment.readAt(pos, window);
          let at = 0;
          while (at < buf.length && out.length < maxRecords && bytes < maxBytes) {
            const check = checkFrame(buf, at, buf.length, true);
            if (!check.ok) {
              // The window ends inside this frame — in its size prefix (needBytes unknown), header or
              // payload. The bytes below `limit` are whole, published frames: only a frame that does not
              // fit below `limit` is corrupt, and that is judged on a read from the frame's own start.
              const needBytes = check.needBytes ?? FRAME_HEADER_BYTES;
              if (check.reason === 'corrupt' || pos + at + needBytes > limit) {
                throw new EventLogError('CORRUPT', `corrupt record in ${segment.path} at byte ${pos + at}; restore the data dir from a backup or remove that segment`);
              }
              if (at > 0) break; // re-read from this frame's start
              if (check.needBytes === undefined || buf.length >= needBytes) {
                // At the frame's start a window always holds its size prefix unless the file is short.
                throw new EventLogError('CORRUPT', `corrupt record in ${segment.path} at byte ${pos}; restore the data dir from a backup or remove that segment`);
              }
              if (out.length > 0 && bytes + needBytes > maxBytes) return { records: out, next };
              window = needBytes;
              buf = await segment.readAt(pos, window);
              continue;
            }
            const { view } = check;
            if (view.offset >= from) {
              if (this.latestByKey === null || this.isNewest(buf, at, view.offset)) {
                out.push(decodeFrame(buf, at, view, this.topic, this.partition));
                bytes += view.frameBytes;
              }
              next = view.offset + 1;
            }
            at += view.frameBytes;
          }
          pos += at;
        }
      } finally {
        await segment.unpin();
      }
    }
    return { records: out, next };
  }

  private isNewest(buf: Buffer, at: number, offset: number): boolean {
    const view = checkFrame(buf, at, buf.length, false);
    if (!view.ok) return true;
    const key = frameKey(buf, at, view.view);
    return key === null || this.latestByKey!.get(key) === offset;
  }

  /** The first offset whose timestamp is ≥ `timestamp`, or the end offset. */
  async offsetForTimestamp(timestamp: number): Promise<number> {
    for (const segment of this.segments) {
      await segment.indexed();
      if (segment.maxTimestamp < timestamp) continue;
      segment.pin();
      try {
        const start = segment.positionForTimestamp(timestamp);
        const buf = await segment.readAt(start, segment.size - start);
        let at = 0;
        while (at < buf.length) {
          const check = checkFrame(buf, at, buf.length, false);
          if (!check.ok) break;
          if (check.view.timestamp >= timestamp) return check.view.offset;
          at += check.view.frameBytes;
        }
      } finally {
        await segment.unpin();
      }
    }
    return this.endOffset;
  }

  /**
   * Compacted topics: rewrites each sealed segment without the records a newer record of the same
   * key supersedes (temp file, fsync, rename over). The active segment is left alone; reads skip
   * superseded records anyway, so compaction only reclaims space.
   */
  compact(): Promise<void> {
    const run = this.compaction.then(() => this.compactNow());
    this.compaction = run.catch((error: unknown) => this.logger.error({ err: error, topic: this.topic, partition: this.partition }, 'compaction failed; will retry at the next roll'));
    return run;
  }

  private scheduleCompaction(): void {
    void this.compact().catch(() => undefined);
  }

  private async compactNow(): Promise<void> {
    const latest = this.latestByKey;
    if (latest === null) return;
    for (const segment of this.segments.slice(0, -1)) {
      if (segment.size === 0) continue;
      segment.pin();
      let kept: Buffer[] = [];
      let dropped = 0;
      try {
        const buf = await segment.readAt(0, segment.size);
        let at = 0;
        while (at < buf.length) {
          const check = checkFrame(buf, at, buf.length, true);
          if (!check.ok) throw new EventLogError('CORRUPT', `corrupt record in ${segment.path} at byte ${at} during compaction`);
          const key = frameKey(buf, at, check.view);
          if (key === null || latest.get(key) === check.view.offset) kept.push(buf.subarray(at, at + check.view.frameBytes));
          else dropped++;
          at += check.view.frameBytes;
        }
      } finally {
        await segment.unpin();
      }
      if (dropped === 0) continue;
      const tmp = `${segment.path}.cleaned`;
      const { segment: written } = await Segment.open(tmp, segment.baseOffset, { create: true });
      await written.write(Buffer.concat(kept));
      await written.sync();
      await written.retire();
      kept = [];
      await rename(tmp, segment.path);
      await syncDir(this.dir);
      const { segment: replacement } = await Segment.open(segment.path, segment.baseOffset, { create: false });
      this.segments = this.segments.map((s) => (s === segment ? replacement : s));
      await segment.retire();
      this.logger.debug({ topic: this.topic, partition: this.partition, segment: segment.path, dropped }, 'compacted a segment');
    }
  }

  /** Deletes sealed segments, oldest first, whose newest record is past the retention time. */
  private async applyRetention(): Promise<void> {
    const cutoff = Date.now() - this.retentionMs!;
    while (this.segments.length > 1 && (await this.segments[0]!.indexed(), this.segments[0]!.maxTimestamp < cutoff)) {
      const expired = this.segments[0]!;
      this.segments = this.segments.slice(1);
      await expired.retire();
      await unlink(expired.path);
      this.logger.debug({ topic: this.topic, partition: this.partition, segment: expired.path }, 'deleted a segment past retention');
    }
  }

  /** Recovery only: drops every record at or after `offset` (before anything reads or writes). */
  async truncateFrom(offset: number): Promise<void> {
    for (const segment of [...this.segments].reverse()) {
      if (segment.baseOffset >= offset && segment !== this.segments[0]) {
        await segment.retire();
        await unlink(segment.path);
        this.segments = this.segments.filter((s) => s !== segment);
        continue;
      }
      await segment.indexed();
      if (segment.nextOffset <= offset) break;
      const buf = await segment.readAt(0, segment.size);
      let at = 0;
      while (at < buf.length) {
        const check = checkFrame(buf, at, buf.length, false);
        if (!check.ok || check.view.offset >= offset) break;
        at += check.view.frameBytes;
      }
      await segment.truncate(at);
      await segment.sync();
      break;
    }
    await syncDir(this.dir);
  }

  async close(): Promise<void> {
    await this.compaction;
    for (const wake of this.waiters) wake();
    for (const segment of this.segments) await segment.retire();
  }
}

/** One view over the frames when they lie back to back in one buffer (the writer encodes them so). */
function contiguous(frames: readonly EncodedFrame[]): Buffer | undefined {
  const first = frames[0]?.buf;
  if (first === undefined) return undefined;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < frames.length; i++) {
    const buf = frames[i]!.buf;
    if (buf.buffer !== first.buffer || buf.byteOffset !== end) return undefined;
    end += buf.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
