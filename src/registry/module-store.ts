import { createHash } from 'node:crypto';
import type { EventLog, LogRecord } from '../eventlog/index.js';
import { FunctionError } from '../errors/index.js';
import type { ModuleRef } from './registry-events.js';

/**
 * Module bytes in `aerofn.modules`, keyed by sha256. A module is split into chunks of 512 KiB
 * (key `<sha256>:<index>`), so 32 MB modules fit under Kafka's per-record limits without asking
 * the broker for large messages; compaction keeps the newest copy of every chunk.
 */
export const moduleChunkBytes = 512 * 1024;
// One chunk per append: Kafka checks max.message.bytes against a whole record batch, and a
// producer puts all records of one call for a partition into one batch.
const appendGroup = 1;
const topicMaxMessageBytes = 2 * 1024 * 1024;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ModuleStore {
  readonly topic: string;
  ensureTopic(): Promise<void>;
  /** Writes the chunks and returns where they went; resolves once the log acknowledged them. */
  write(sha256: string, bytes: Uint8Array): Promise<ModuleRef>;
  /** Bytes of a module, from the cache or the log; verified against the sha256. */
  read(sha256: string, ref: ModuleRef | undefined): Promise<Uint8Array>;
  /** Keeps bytes the caller already has (a deploy on this instance). */
  remember(sha256: string, bytes: Uint8Array): void;
  /** Whether the bytes are in the cache. */
  has(sha256: string): boolean;
}

export function createModuleStore(options: { log: EventLog; topic: string; cacheBytes?: number }): ModuleStore {
  const { log, topic } = options;
  const cacheLimit = options.cacheBytes ?? 256 * 1024 * 1024;
  // Map order is insertion order: re-inserting on a hit makes the first key the least recently used.
  const cache = new Map<string, Uint8Array>();
  let cachedBytes = 0;
  const inflight = new Map<string, Promise<Uint8Array>>();
  // Reads of the topic go one at a time: the Kafka adapter keeps one cursor per partition and
  // client, so two interleaved scans would take each other's records.
  let readQueue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(body: () => Promise<T>): Promise<T> => {
    const run = readQueue.then(body, body);
    readQueue = run.catch(() => undefined);
    return run;
  };

  const remember = (sha256: string, bytes: Uint8Array): void => {
    const old = cache.get(sha256);
    if (old !== undefined) {
      cache.delete(sha256);
      cachedBytes -= old.byteLength;
    }
    cache.set(sha256, bytes);
    cachedBytes += bytes.byteLength;
    for (const [key, value] of cache) {
      if (cachedBytes <= cacheLimit || cache.size <= 1) break;
      cache.delete(key);
      cachedBytes -= value.byteLength;
    }
  };

  async function readAt(sha256: string, ref: ModuleRef): Promise<Uint8Array | undefined> {
    const parts: Buffer[] = [];
    const [end = 0] = await log.endOffsets(topic);
    // Chunks follow each other, except that another instance's appends may fall between two
    // append groups: skip records of other modules.
    for (let offset = ref.offset; parts.length < ref.chunks && offset < end; ) {
      const records = await log.read(topic, 0, offset, { maxRecords: ref.chunks - parts.length, maxBytes: appendGroup * moduleChunkBytes * 2 });
      if (records.length === 0) break;
      for (const record of records) {
        offset = record.offset + 1;
        if (record.key === `${sha256}:${parts.length}` && record.value !== null) parts.push(record.value);
        if (parts.length === ref.chunks) break;
      }
    }
    if (parts.length < ref.chunks) return undefined; // compacted away after a rewrite: scan
    const bytes = Buffer.concat(parts);
    return bytes.byteLength === ref.size && sha256Hex(bytes) === sha256 ? bytes : undefined;
  }

  /** Slow path: the newest copy of every chunk of the module, found by reading the whole topic. */
  async function scan(sha256: string): Promise<Uint8Array | undefined> {
    const chunks = new Map<number, LogRecord>();
    const [start = 0] = await log.startOffsets(topic);
    const [end = 0] = await log.endOffsets(topic);
    for (let offset = start; offset < end; ) {
      const records = await log.read(topic, 0, offset, { maxRecords: 64, maxBytes: appendGroup * moduleChunkBytes * 2 });
      if (records.length === 0) break;
      for (const record of records) {
        offset = record.offset + 1;
        if (record.key?.startsWith(`${sha256}:`) === true) chunks.set(Number(record.key.slice(65)), record);
      }
    }
    const count = Number(chunks.get(0)?.headers['chunks'] ?? NaN);
    if (!Number.isInteger(count)) return undefined;
    const parts: Buffer[] = [];
    for (let index = 0; index < count; index += 1) {
      const value = chunks.get(index)?.value;
      if (value === null || value === undefined) return undefined;
      parts.push(value);
    }
    const bytes = Buffer.concat(parts);
    return sha256Hex(bytes) === sha256 ? bytes : undefined;
  }

  async function load(sha256: string, ref: ModuleRef | undefined): Promise<Uint8Array> {
    const bytes = await exclusive(async () => (ref === undefined ? undefined : await readAt(sha256, ref)) ?? (await scan(sha256)));
    if (bytes === undefined) {
      throw new FunctionError('NotFound', `module ${sha256} is not in ${topic}; deploy the function again to rewrite it`);
    }
    remember(sha256, bytes);
    return bytes;
  }

  return {
    topic,
    remember,
    has: (sha256) => cache.has(sha256),
    async ensureTopic() {
      await log.ensureTopic({ name: topic, partitions: 1, compacted: true, maxMessageBytes: topicMaxMessageBytes });
    },
    async write(sha256, bytes) {
      const chunks = Math.max(1, Math.ceil(bytes.byteLength / moduleChunkBytes));
      let first = -1;
      for (let start = 0; start < chunks; start += appendGroup) {
        const records = [];
        for (let index = start; index < Math.min(chunks, start + appendGroup); index += 1) {
          const value = Buffer.from(bytes.buffer, bytes.byteOffset + index * moduleChunkBytes, Math.min(moduleChunkBytes, bytes.byteLength - index * moduleChunkBytes));
          records.push({ key: `${sha256}:${index}`, value, partition: 0, headers: { sha256, chunk: String(index), chunks: String(chunks), size: String(bytes.byteLength) } });
        }
        const results = await log.append(topic, records);
        if (first < 0) first = results[0]?.offset ?? -1;
      }
      remember(sha256, bytes);
      return { size: bytes.byteLength, chunks, offset: first };
    },
    async read(sha256, ref) {
      const hit = cache.get(sha256);
      if (hit !== undefined) {
        remember(sha256, hit);
        return hit;
      }
      let pending = inflight.get(sha256);
      if (pending === undefined) {
        pending = load(sha256, ref).finally(() => inflight.delete(sha256));
        inflight.set(sha256, pending);
      }
      return pending;
    },
  };
}
