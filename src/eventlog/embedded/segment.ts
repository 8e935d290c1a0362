import { open, type FileHandle } from 'node:fs/promises';
import { checkFrame, frameKey } from './record-format.js';

/** One index entry per this many bytes of log: reads start at most this far before their offset. */
const INDEX_INTERVAL_BYTES = 64 * 1024;
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export interface ScanResult {
  /** Bytes cut off the end because they did not form whole, checked records. */
  readonly truncatedBytes: number;
}

/**
 * One file of a partition, named by its first offset. The index is sparse and in memory (rebuilt
 * on open by one sequential scan): offset → file position every INDEX_INTERVAL_BYTES, with the
 * running maximum timestamp so that offsetForTimestamp needs no full scan either.
 */
export class Segment {
  size = 0;
  nextOffset: number;
  maxTimestamp = -Infinity;
  private readonly indexOffsets: number[] = [];
  private readonly indexPositions: number[] = [];
  private readonly indexMaxTs: number[] = [];
  private lastIndexedPosition = -Infinity;
  private pins = 0;
  private retired = false;
  private scanned: Promise<ScanResult> | null = null;

  private constructor(
    readonly baseOffset: number,
    readonly path: string,
    private readonly fh: FileHandle,
  ) {
    this.nextOffset = baseOffset;
  }

  /**
   * Opens and scans the file. Everything after the first frame that is incomplete, fails its CRC
   * or breaks offset order is truncated (a torn tail), and reported in the result. With `lazy`
   * (sealed segments of a non-compacted topic) the scan waits for the first use — see indexed().
   */
  static async open(
    path: string,
    baseOffset: number,
    options: { create: boolean; lazy?: boolean; onKey?: (key: string | null, offset: number) => void },
  ): Promise<{ segment: Segment; scan: ScanResult }> {
    const fh = await open(path, options.create ? 'a+' : 'r+');
    const segment = new Segment(baseOffset, path, fh);
    if (options.lazy) return { segment, scan: { truncatedBytes: 0 } };
    segment.scanned = segment.scan(options.onKey);
    return { segment, scan: await segment.scanned };
  }

  /**
   * Resolves once the index, size and timestamps are known. Sealed segments are scanned on their
   * first read, so opening a large log costs one scan of its active segments, not of all of it.
   */
  async indexed(): Promise<void> {
    this.scanned ??= this.scan(undefined);
    await this.scanned;
  }

  private async scan(onKey: ((key: string | null, offset: number) => void) | undefined): Promise<ScanResult> {
    const fileSize = (await this.fh.stat()).size;
    let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize, 1)));
    let filePos = 0;
    let valid = 0;
    let lastOffset = this.baseOffset - 1;
    let runningMaxTs = -Infinity;
    scanning: while (filePos < fileSize) {
      const want = Math.min(buf.length, fileSize - filePos);
      const { bytesRead } = await this.fh.read(buf, 0, want, filePos);
      let at = 0;
      while (at < bytesRead) {
        const check = checkFrame(buf, at, bytesRead, true);
        if (!check.ok) {
          if (check.reason === 'incomplete' && filePos + bytesRead < fileSize) {
            // The frame continues past this chunk: read again from its start, growing the buffer if needed.
            if (check.needBytes !== undefined && check.needBytes > buf.length) buf = Buffer.allocUnsafe(check.needBytes);
            if (at === 0 && check.needBytes === undefined) break scanning;
            filePos += at;
            continue scanning;
          }
          break scanning;
        }
        const { view } = check;
        if (view.offset <= lastOffset || !Number.isInteger(view.offset)) break scanning;
        runningMaxTs = Math.max(runningMaxTs, view.timestamp);
        this.noteFrame(filePos + at, view.offset, runningMaxTs, view.frameBytes);
        onKey?.(frameKey(buf, at, view), view.offset);
        lastOffset = view.offset;
        at += view.frameBytes;
        valid = filePos + at;
      }
      filePos += at;
      if (at === 0) break;
    }
    if (valid < fileSize) {
      await this.fh.truncate(valid);
      await this.fh.sync();
    }
    return { truncatedBytes: fileSize - valid };
  }

  /** Records a frame that is now part of the file (after a scan step or a durable append). */
  noteFrame(position: number, offset: number, timestamp: number, frameBytes: number): void {
    this.maxTimestamp = Math.max(this.maxTimestamp, timestamp);
    if (position - this.lastIndexedPosition >= INDEX_INTERVAL_BYTES) {
      this.indexOffsets.push(offset);
      this.indexPositions.push(position);
      this.indexMaxTs.push(this.maxTimestamp);
      this.lastIndexedPosition = position;
    }
    this.size = position + frameBytes;
    this.nextOffset = offset + 1;
  }

  /** A file position at or before the frame of `offset`. */
  positionFor(offset: number): number {
    let lo = 0;
    let hi = this.indexOffsets.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexOffsets[mid]! <= offset) {
        found = this.indexPositions[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** A file position at or before the first frame whose timestamp is ≥ `timestamp`. */
  positionForTimestamp(timestamp: number): number {
    for (let i = 0; i < this.indexMaxTs.length; i++) {
      if (this.indexMaxTs[i]! >= timestamp) return i === 0 ? 0 : this.indexPositions[i - 1]!;
    }
    return this.indexPositions[this.indexPositions.length - 1] ?? 0;
  }

  async write(data: Buffer): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.fh.write(data, written, data.length - written);
      written += bytesWritten;
    }
  }

  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  /** Drops bytes after `size` (undoing a failed write, or a replayed transaction's partial part). */
  async truncate(size: number): Promise<void> {
    await this.fh.truncate(size);
  }

  async readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  /** Keeps the file open while a read uses it, even if compaction replaces the segment meanwhile. */
  pin(): void {
    this.pins++;
  }

  async unpin(): Promise<void> {
    this.pins--;
    if (this.retired && this.pins === 0) await this.fh.close();
  }

  /** Replaced (compaction) or closing: close the file once no read uses it. */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    if (this.pins === 0) await this.fh.close();
  }
}
