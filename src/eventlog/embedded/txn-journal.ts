import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { frameCrc32 as crc32 } from './frame-crc.js';
import type { TopicPartitionOffset } from '../event-log.js';
import type { EncodedFrame } from './partition-log.js';
import { checkFrame, frameKey } from './record-format.js';
import { removeIfExists, syncDir } from './fs-util.js';

/**
 * Write-ahead record of one committing transaction: every frame it appends (offsets already
 * assigned) and every offset it commits. Written and fsynced before any partition is touched and
 * removed after all are durable, so recovery either finds no journal (nothing or everything was
 * applied) or a whole one (re-apply it: truncate each partition to the transaction's first offset,
 * rewrite its frames, rewrite its offsets). A journal with a bad CRC was never acknowledged.
 *
 *   u32 bodyLength | u32 crc32(body) | body = u32 jsonLength | json | frames of append 0 | frames of append 1 …
 */
export interface JournalAppend {
  readonly topic: string;
  readonly partition: number;
  readonly frames: readonly EncodedFrame[];
}

export interface JournalEntry {
  readonly appends: readonly JournalAppend[];
  readonly offsets: ReadonlyArray<{ groupId: string; offsets: readonly TopicPartitionOffset[] }>;
}

const FILE = 'journal';

export async function writeJournal(dir: string, entry: JournalEntry, durable: boolean): Promise<void> {
  const meta = {
    appends: entry.appends.map((a) => ({ topic: a.topic, partition: a.partition, bytes: a.frames.reduce((n, f) => n + f.buf.length, 0) })),
    offsets: entry.offsets,
  };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const jsonLength = Buffer.alloc(4);
  jsonLength.writeUInt32LE(json.length);
  const body = Buffer.concat([jsonLength, json, ...entry.appends.flatMap((a) => a.frames.map((f) => f.buf))]);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  const tmp = join(dir, `${FILE}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev([head, body]);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, FILE));
  if (durable) await syncDir(dir);
}

export async function clearJournal(dir: string, durable: boolean): Promise<void> {
  await removeIfExists(join(dir, FILE));
  if (durable) await syncDir(dir);
}

/** The pending transaction, or null when there is none or it was torn (never acknowledged). */
export async function readJournal(dir: string): Promise<JournalEntry | null> {
  await removeIfExists(join(dir, `${FILE}.tmp`));
  let file: Buffer;
  try {
    file = await readFile(join(dir, FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (file.length < 8) return null;
  const bodyLength = file.readUInt32LE(0);
  if (file.length !== 8 + bodyLength) return null;
  const body = file.subarray(8);
  if (crc32(body) !== file.readUInt32LE(4)) return null;
  const jsonLength = body.readUInt32LE(0);
  const meta = JSON.parse(body.toString('utf8', 4, 4 + jsonLength)) as {
    appends: Array<{ topic: string; partition: number; bytes: number }>;
    offsets: JournalEntry['offsets'];
  };
  let at = 4 + jsonLength;
  const appends = meta.appends.map((a) => {
    const chunk = body.subarray(at, at + a.bytes);
    at += a.bytes;
    const frames: EncodedFrame[] = [];
    let p = 0;
    while (p < chunk.length) {
      const check = checkFrame(chunk, p, chunk.length, true);
      if (!check.ok) break;
      frames.push({ buf: chunk.subarray(p, p + check.view.frameBytes), offset: check.view.offset, timestamp: check.view.timestamp, key: frameKey(chunk, p, check.view) });
      p += check.view.frameBytes;
    }
    return { topic: a.topic, partition: a.partition, frames };
  });
  return { appends, offsets: meta.offsets };
}
