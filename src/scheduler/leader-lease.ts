import type { EventLog, Subscription } from '../eventlog/index.js';
import type { Logger } from '../observability/index.js';

/**
 * Who may fire schedules. One code path for both logs: the lease is membership of a consumer group
 * on the one-partition ticks topic, and the member that owns partition 0 leads. On Kafka, the
 * broker's group coordinator moves the partition when the leader leaves (at once) or dies (after
 * the session timeout, 30 s); on the embedded log only the process holding the data dir's lock
 * can subscribe at all, and its scheduler, the group's only member, owns the partition and leads.
 */
export interface LeaderLease {
  start(): Promise<void>;
  isLeader(): boolean;
  /** Called with the new state whenever it changes. */
  onChange(listener: (leader: boolean) => void): void;
  close(): Promise<void>;
}

export interface GroupLeaseOptions {
  readonly log: EventLog;
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  /** How often the assignment is looked at (default 500 ms). */
  readonly pollMs?: number;
}

export function createGroupLease(options: GroupLeaseOptions): LeaderLease {
  const { log, topic, groupId, logger } = options;
  const pollMs = options.pollMs ?? 500;
  const listeners: Array<(leader: boolean) => void> = [];
  let subscription: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let leader = false;
  let closed = false;
  let polling: Promise<void> = Promise.resolve();

  const set = (next: boolean): void => {
    if (next === leader) return;
    leader = next;
    logger.info({ topic, groupId }, next ? 'scheduler lease acquired: this instance fires schedules' : 'scheduler lease lost');
    for (const listener of listeners) listener(next);
  };

  const poll = async (): Promise<void> => {
    if (subscription === undefined || closed) return;
    try {
      const assigned = await subscription.assignments();
      if (!closed) set(assigned.some((a) => a.topic === topic && a.partition === 0));
    } catch (error) {
      // Unsure is not leading: firing without the lease is what the ticks fold must then fence.
      logger.warn({ err: error, topic }, 'cannot read the scheduler lease assignment; not firing until it is known');
      set(false);
    }
  };

  return {
    async start() {
      // The records themselves are read by the ticks ledger; the group exists only for its assignment.
      subscription = await log.subscribe({ groupId, topics: [topic], start: 'latest', eachBatch: async () => undefined });
      await poll();
      const loop = (): void => {
        timer = setTimeout(() => {
          polling = poll().finally(() => {
            if (!closed) loop();
          });
        }, pollMs);
      };
      loop();
    },
    isLeader: () => leader,
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await polling;
      set(false);
      await subscription?.close();
    },
  };
}
