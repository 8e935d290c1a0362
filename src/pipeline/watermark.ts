import type { TopicPartitionOffset } from '../eventlog/index.js';
import { partitionKey } from './records.js';

interface Slot {
  readonly offset: number;
  done: boolean;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly slots: Slot[];
  head: number;
  readonly byOffset: Map<number, Slot>;
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
      state = { topic, partition, slots: [], head: 0, byOffset: new Map(), frontier: -1, committed: -1 };
      this.partitions.set(key, state);
    }
    this.last = state;
    return state;
  }

  /** A record entered the pipeline; its offset now holds the watermark back until completed. */
  track(topic: string, partition: number, offset: number): void {
    const state = this.state(topic, partition);
    if (state.byOffset.has(offset)) return; // redelivered while still in flight
    const slot: Slot = { offset, done: false };
    state.slots.push(slot);
    state.byOffset.set(offset, slot);
  }

  /** Everything a record caused is recorded. */
  complete(topic: string, partition: number, offset: number): void {
    const state = this.state(topic, partition);
    const slot = state.byOffset.get(offset);
    if (slot === undefined) return;
    slot.done = true;
    while (state.head < state.slots.length && (state.slots[state.head] as Slot).done) {
      const head = state.slots[state.head] as Slot;
      state.byOffset.delete(head.offset);
      state.frontier = head.offset + 1;
      state.head += 1;
    }
    // Drop the consumed prefix now and then so the array does not grow without bound.
    if (state.head > 1024 && state.head * 2 > state.slots.length) {
      state.slots.splice(0, state.head);
      state.head = 0;
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
    for (const state of this.partitions.values()) count += state.slots.length - state.head;
    return count;
  }

  /** A partition was revoked: forget it (its uncommitted work will be redelivered elsewhere). */
  forget(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition));
    this.last = undefined;
  }
}
