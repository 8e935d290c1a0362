import type { PartitionLog } from './partition-log.js';

/** What the group needs of a member: which topics it subscribed to, and a way to take up a new assignment. */
export interface GroupMember {
  subscribes(topic: string): boolean;
  /**
   * Starts the partitions newly assigned to it and stops the ones taken away (at a batch
   * boundary); resolves once the new ones know where they start.
   */
  reconcile(): Promise<void>;
}

/**
 * The members of one consumer group in this process, as Kafka's group coordinator would assign
 * them: every partition of a topic belongs to one member of those that subscribe to the topic,
 * round-robin by partition number over the members in the order they joined. A join or a leave
 * moves partitions; the member that gets one starts only after the member that lost it has
 * finished the batch it was delivering, so no record is delivered to two members at once.
 */
export class EmbeddedGroup {
  private readonly members: GroupMember[] = [];
  /** The delivery loop that last ran on a partition (it may still be finishing a batch). */
  private readonly loops = new Map<PartitionLog, Promise<void>>();

  get size(): number {
    return this.members.length;
  }

  /** Adds `member`; resolves once its partitions know where they start (it may wait for their last owner's batch). */
  async join(member: GroupMember): Promise<void> {
    this.members.push(member);
    await this.rebalance(member);
  }

  /** Removes `member` (its deliveries have ended); the rest take its partitions over. */
  async leave(member: GroupMember): Promise<void> {
    const index = this.members.indexOf(member);
    if (index < 0) return;
    this.members.splice(index, 1);
    await this.rebalance(undefined);
  }

  /** Whether `log` is assigned to `member` now. */
  owns(member: GroupMember, log: PartitionLog): boolean {
    const candidates = this.members.filter((m) => m.subscribes(log.topic));
    return candidates[log.partition % candidates.length] === member;
  }

  /** Waits for the loop that last ran on `log`, then records `loop` as the one running it now. */
  async handOver(log: PartitionLog, loop: () => Promise<void>): Promise<void> {
    const previous = this.loops.get(log);
    const next = (async () => {
      if (previous !== undefined) await previous;
      await loop();
    })();
    this.loops.set(log, next);
    next.finally(() => {
      if (this.loops.get(log) === next) this.loops.delete(log);
    }).catch(() => undefined);
    return next;
  }

  /** Every member takes up the new assignment; only `joining`'s failure is the caller's (the others log theirs). */
  private async rebalance(joining: GroupMember | undefined): Promise<void> {
    await Promise.all(this.members.map((member) => (member === joining ? member.reconcile() : member.reconcile().catch(() => undefined))));
  }
}
