import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommitWatermarks } from '../../../src/pipeline/watermark.js';

/** The watermark as first written (an object per offset and a Map): the reference behaviour. */
class Reference {
  private readonly partitions = new Map<string, { slots: Array<{ offset: number; done: boolean; bytes: number }>; head: number; byOffset: Map<number, { offset: number; done: boolean; bytes: number }>; frontier: number; committed: number; topic: string; partition: number }>();
  private state(topic: string, partition: number) {
    const key = `${topic}\u0000${partition}`;
    let state = this.partitions.get(key);
    if (state === undefined) this.partitions.set(key, (state = { slots: [], head: 0, byOffset: new Map(), frontier: -1, committed: -1, topic, partition }));
    return state;
  }
  track(topic: string, partition: number, offset: number, bytes = 0): void {
    const state = this.state(topic, partition);
    if (state.byOffset.has(offset)) return;
    const slot = { offset, done: false, bytes };
    state.slots.push(slot);
    state.byOffset.set(offset, slot);
  }
  complete(topic: string, partition: number, offset: number): void {
    const state = this.state(topic, partition);
    const slot = state.byOffset.get(offset);
    if (slot === undefined) return;
    slot.done = true;
    while (state.head < state.slots.length && state.slots[state.head]!.done) {
      const head = state.slots[state.head]!;
      state.byOffset.delete(head.offset);
      state.frontier = head.offset + 1;
      state.head += 1;
    }
  }
  pending() {
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const state of this.partitions.values()) if (state.frontier > state.committed) out.push({ topic: state.topic, partition: state.partition, offset: state.frontier });
    return out;
  }
  markCommitted(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): void {
    for (const { topic, partition, offset } of offsets) {
      const state = this.state(topic, partition);
      state.committed = Math.max(state.committed, offset);
    }
  }
  inFlight(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.slots.length - state.head;
    return count;
  }
  inFlightBytes(): number {
    let bytes = 0;
    for (const state of this.partitions.values()) for (let i = state.head; i < state.slots.length; i++) bytes += state.slots[i]!.bytes;
    return bytes;
  }
  isCommittable(topic: string, partition: number, offset: number): boolean {
    return offset < this.state(topic, partition).frontier;
  }
}

/** A record's size in these runs: fixed per offset, so a redelivery brings the same size. */
const sizeOf = (offset: number): number => 100 + ((offset * 37) % 900);

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

describe('CommitWatermarks', () => {
  it('behaves as the reference over random runs (gaps, redeliveries, offsets going back, completions in any order), bytes in flight included', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const subject = new CommitWatermarks();
      const reference = new Reference();
      const next = [0, 0, 0];
      const open: Array<[number, number]> = [];
      for (let step = 0; step < 6000; step++) {
        const partition = Math.floor(rnd() * 3);
        const roll = rnd();
        if (roll < 0.45) {
          // Mostly the next offset; sometimes a gap (transaction markers); rarely a step back (a seek).
          let offset = next[partition]!;
          if (rnd() < 0.1) offset += 1 + Math.floor(rnd() * 3);
          if (rnd() < 0.01 && offset > 5) offset -= 1 + Math.floor(rnd() * 5);
          next[partition] = Math.max(next[partition]!, offset + 1);
          subject.track('t', partition, offset, sizeOf(offset));
          reference.track('t', partition, offset, sizeOf(offset));
          open.push([partition, offset]);
        } else if (roll < 0.5 && open.length > 0) {
          const [p, offset] = open[Math.floor(rnd() * open.length)]!; // redelivered while in flight (or not)
          subject.track('t', p, offset, sizeOf(offset));
          reference.track('t', p, offset, sizeOf(offset));
        } else if (roll < 0.95 && open.length > 0) {
          const at = Math.floor(rnd() * Math.min(open.length, 200));
          const [p, offset] = open.splice(at, 1)[0]!;
          subject.complete('t', p, offset);
          reference.complete('t', p, offset);
        } else {
          const offsets = subject.pending();
          assert.deepEqual(offsets, reference.pending(), `seed ${seed} step ${step}`);
          subject.markCommitted(offsets);
          reference.markCommitted(offsets);
        }
        if (step % 97 === 0) {
          assert.equal(subject.inFlight(), reference.inFlight(), `seed ${seed} step ${step}`);
          assert.equal(subject.inFlightBytes(), reference.inFlightBytes(), `bytes, seed ${seed} step ${step}`);
          const probe = Math.floor(rnd() * next[partition]!);
          assert.equal(subject.isCommittable('t', partition, probe), reference.isCommittable('t', partition, probe));
        }
      }
      assert.deepEqual(subject.pending(), reference.pending());
      assert.equal(subject.inFlight(), reference.inFlight());
      assert.equal(subject.inFlightBytes(), reference.inFlightBytes());
    }
  });

  it('keeps the bytes in flight right across the drop of a long consumed prefix', () => {
    const subject = new CommitWatermarks();
    const reference = new Reference();
    for (let offset = 0; offset < 3000; offset++) {
      subject.track('t', 0, offset, sizeOf(offset));
      reference.track('t', 0, offset, sizeOf(offset));
    }
    // Out of order: 2500 first (held back by the head), then the first 1,600 (the prefix is dropped).
    for (const offset of [2500, ...Array.from({ length: 1600 }, (_, i) => i)]) {
      subject.complete('t', 0, offset);
      reference.complete('t', 0, offset);
      assert.equal(subject.inFlightBytes(), reference.inFlightBytes(), `after completing ${offset}`);
    }
    subject.track('t', 0, 3000, 5000);
    reference.track('t', 0, 3000, 5000);
    for (let offset = 1600; offset <= 3000; offset++) {
      subject.complete('t', 0, offset);
      reference.complete('t', 0, offset);
      assert.equal(subject.inFlightBytes(), reference.inFlightBytes(), `after completing ${offset}`);
    }
    assert.equal(subject.inFlightBytes(), 0);
    assert.equal(subject.inFlight(), 0);
  });
});
