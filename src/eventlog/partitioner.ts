/**
 * Keyed partitioning shared by both adapters: murmur2 of the key's UTF-8 bytes, made positive,
 * modulo the partition count — exactly Kafka's (and kafkajs's) default partitioner, so a key lands
 * on the same partition whichever adapter holds the log and whichever client wrote it.
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record among `partitions`. */
export function partitionForKey(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  // Appends come in runs of one key (the invocations sink keys by function name): the last answer
  // saves a Buffer and a hash per record.
  if (key === lastKey && partitions === lastPartitions) return lastPartition;
  const partition = (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
  lastKey = key;
  lastPartitions = partitions;
  lastPartition = partition;
  return partition;
}
let lastKey: string | undefined;
let lastPartitions = 0;
let lastPartition = 0;

/** Round-robin for records without a key, one counter per topic. */
export class RoundRobin {
  private readonly counters = new Map<string, number>();

  next(topic: string, partitions: number): number {
    const n = this.counters.get(topic) ?? 0;
    this.counters.set(topic, n + 1);
    return n % partitions;
  }
}
