import type { TopicPartitionOffset } from '../eventlog/index.js';
import { partitionKey } from './records.js';

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /**
   * Offsets taken in, in arrival order, and whether each one's work is complete: two flat arrays
   * instead of an object per offset and a Map from offset to it (~90 bytes per in-flight record;
   * thousands are in flight at a high watermark).
   */
  offsets: number[];
  done: boolean[];
  /** Each record's size in bytes (key and value), beside `offsets`. */
  sizes: number[];
  head: number;
  /** The sizes from `head` on: what `inFlightBytes` counts for this partition. */
  bytes: number;
  /** Whether `offsets` is increasing (records arrive in offset order): lookups can then jump. */
  ordered: boolean;
  /** Next offset to commit (Kafka convention), -1 until something is done. */
  frontier: number;
  committed: number;
}

/**
 * Commit watermarks, one per partition: the committable offset is one past the longest prefix of
 * received offsets whose work is complete. Offsets are tracked as received, not assumed
 * contiguous: Kafka leaves gaps (transaction markers, compaction).
 */
export class CommitWatermarks {
  private readonly partitions = new Map<string, PartitionState>();
  private last: PartitionState | undefined;

  private state(topic: string, partition: number): PartitionState {
    // Records come in runs of one partition: remembering the last one skips the key building.
    const last = this.last;
    if (last !== undefined && last.partition === partition && last.topic === topic) return last;
    const key = partitionKey(topic, partition);
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = { topic, partition, offsets: [], done: [], sizes: [], head: 0, bytes: 0, ordered: true, frontier: -1, committed: -1 };
      this.partitions.set(key, state);
    }
    this.last = state;
    return state;
  }

  /** Where `offset` is among the records in flight, or -1. */
  private indexOf(state: PartitionState, offset: number): number {
    const { offsets, head } = state;
    const length = offsets.length;
    if (head >= length) return -1;
    if (!state.ordered) {
      for (let i = head; i < length; i++) if (offsets[i] === offset) return i;
      return -1;
    }
    // Contiguous offsets (the usual case) are found at once; gaps fall back to a binary search.
    const guess = head + (offset - (offsets[head] as number));
    if (guess >= head && guess < length && offsets[guess] === offset) return guess;
    let lo = head;
    let hi = length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = offsets[mid] as number;
      if (at === offset) return mid;
      if (at < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * A record entered the pipeline; its offset now holds the watermark back until completed, and
   * its `bytes` count in `inFlightBytes` until then.
   */
  track(topic: string, partition: number, offset: number, bytes = 0): void {
    const state = this.state(topic, partition);
    const { offsets } = state;
    const newest = offsets.length > state.head ? (offsets[offsets.length - 1] as number) : -Infinity;
    if (offset <= newest || !state.ordered) {
      if (this.indexOf(state, offset) >= 0) return; // redelivered while still in flight
      if (offset <= newest) state.ordered = false;
    }
    offsets.push(offset);
    state.done.push(false);
    state.sizes.push(bytes);
    state.bytes += bytes;
  }

  /** Everything a record caused is recorded. */
  complete(topic: string, partition: number, offset: number): void {
    const state = this.state(topic, partition);
    const index = this.indexOf(state, offset);
    if (index < 0 || state.done[index] === true) return;
    state.done[index] = true;
    const { offsets, done, sizes } = state;
    while (state.head < offsets.length && done[state.head] === true) {
      state.frontier = (offsets[state.head] as number) + 1;
      state.bytes -= sizes[state.head] as number;
      state.head += 1;
    }
    // Drop the consumed prefix now and then so the arrays do not grow without bound.
    if (state.head > 1024 && state.head * 2 > offsets.length) {
      state.offsets = offsets.slice(state.head);
      state.done = done.slice(state.head);
      state.sizes = sizes.slice(state.head);
      state.head = 0;
      if (!state.ordered) state.ordered = isIncreasing(state.offsets);
    } else if (state.head === offsets.length && state.head > 0) {
      state.offsets = [];
      state.done = [];
      state.sizes = [];
      state.head = 0;
      state.ordered = true;
    }
  }

  /** Whether a commit now would cover this offset (it is inside the completed prefix). */
  isCommittable(topic: string, partition: number, offset: number): boolean {
    return offset < this.state(topic, partition).frontier;
  }

  /** Offsets that moved since the last `markCommitted` (what a commit should send). */
  pending(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const state of this.partitions.values()) {
      if (state.frontier > state.committed) out.push({ topic: state.topic, partition: state.partition, offset: state.frontier });
    }
    return out;
  }

  markCommitted(offsets: readonly TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      const state = this.state(topic, partition);
      state.committed = Math.max(state.committed, offset);
    }
  }

  /** Records received but not yet complete, over all partitions. */
  inFlight(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.offsets.length - state.head;
    return count;
  }

  /** The bytes of the records `inFlight` counts. */
  inFlightBytes(): number {
    let bytes = 0;
    for (const state of this.partitions.values()) bytes += state.bytes;
    return bytes;
  }

  /** Whether every record of the partition taken in is complete and committed. */
  settled(topic: string, partition: number): boolean {
    const state = this.partitions.get(partitionKey(topic, partition));
    return state === undefined || (state.head >= state.offsets.length && state.committed >= state.frontier);
  }

  /** A partition was revoked: forget it (its uncommitted work will be redelivered elsewhere). */
  forget(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition));
    this.last = undefined;
  }
}

function isIncreasing(offsets: readonly number[]): boolean {
  for (let i = 1; i < offsets.length; i++) if ((offsets[i] as number) <= (offsets[i - 1] as number)) return false;
  return true;
}
