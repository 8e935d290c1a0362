import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopicPartitionOffset } from '../event-log.js';
import { writeFileAtomic } from './fs-util.js';

type GroupState = Map<string, Map<number, number>>;

/**
 * Committed offsets per consumer group, one JSON file per group replaced atomically (temp file,
 * fsync, rename), so a crash leaves either the old or the new offsets, never a mix.
 */
export class GroupOffsets {
  private readonly groups = new Map<string, GroupState>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Per group, the commits that wait for the write in progress: the next write takes them all. */
  private readonly waiting = new Map<string, { offsets: TopicPartitionOffset[]; done: Promise<void> }>();
  /** Offset files written since open (each a temp file, two fsyncs and a rename). */
  writes = 0;

  private constructor(
    private readonly dir: string,
    private readonly durable: boolean,
  ) {}

  static async open(dir: string, durable: boolean): Promise<GroupOffsets> {
    await mkdir(dir, { recursive: true });
    const store = new GroupOffsets(dir, durable);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const raw = JSON.parse(await readFile(join(dir, name), 'utf8')) as { groupId: string; offsets: Record<string, Record<string, number>> };
      const state: GroupState = new Map();
      for (const [topic, partitions] of Object.entries(raw.offsets)) {
        state.set(topic, new Map(Object.entries(partitions).map(([p, o]) => [Number(p), o])));
      }
      store.groups.set(raw.groupId, state);
    }
    return store;
  }

  committed(groupId: string, topic: string): Map<number, number> {
    return new Map(this.groups.get(groupId)?.get(topic) ?? []);
  }

  /** The state after `offsets`, not yet visible. */
  merged(groupId: string, offsets: readonly TopicPartitionOffset[]): GroupState {
    const next: GroupState = new Map([...(this.groups.get(groupId) ?? new Map<string, Map<number, number>>())].map(([t, m]) => [t, new Map(m)]));
    for (const { topic, partition, offset } of offsets) {
      let partitions = next.get(topic);
      if (partitions === undefined) next.set(topic, (partitions = new Map()));
      partitions.set(partition, offset);
    }
    return next;
  }

  async persist(groupId: string, state: GroupState): Promise<void> {
    const offsets: Record<string, Record<string, number>> = {};
    for (const [topic, partitions] of state) offsets[topic] = Object.fromEntries(partitions);
    await writeFileAtomic(this.fileOf(groupId), JSON.stringify({ groupId, offsets }), this.durable);
    this.writes += 1;
  }

  publish(groupId: string, state: GroupState): void {
    this.groups.set(groupId, state);
  }

  /**
   * Commits one group's offsets; commits of one group are applied in call order. Commits that
   * arrive while the group's file is being written share the next write (group commit, as the
   * log's appends do): several members of one group, such as stream threads, commit
   * concurrently, and each write costs a temp file, two fsyncs and a rename.
   */
  commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const next = this.waiting.get(groupId);
    if (next !== undefined) {
      next.offsets.push(...offsets);
      return next.done;
    }
    const batch = { offsets: [...offsets], done: Promise.resolve() };
    this.waiting.set(groupId, batch);
    batch.done = this.queue(groupId, async () => {
      // From here on a commit starts the batch after this one.
      if (this.waiting.get(groupId) === batch) this.waiting.delete(groupId);
      const state = this.merged(groupId, batch.offsets);
      await this.persist(groupId, state);
      this.publish(groupId, state);
    });
    return batch.done;
  }

  /** Runs `fn` while no other commit of the group runs (a transaction holds it until it publishes). */
  exclusive<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    // Commits made after this call must not join a batch that runs before it.
    this.waiting.delete(groupId);
    return this.queue(groupId, fn);
  }

  private queue<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(groupId) ?? Promise.resolve();
    const run = previous.then(fn);
    this.chains.set(groupId, run.then(() => undefined, () => undefined));
    return run;
  }

  async drain(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  private fileOf(groupId: string): string {
    return join(this.dir, `${encodeURIComponent(groupId).replace(/\./g, '%2E')}.json`);
  }
}
