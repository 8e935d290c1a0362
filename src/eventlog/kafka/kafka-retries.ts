/** A kafkajs error kafkajs itself marks worth retrying (a leader moving, a broker starting). */
export const isRetriable = (error: unknown): boolean => (error as { retriable?: unknown } | null)?.retriable === true;

/** A kafkajs protocol error's type (NOT_LEADER_FOR_PARTITION, …), also under the error kafkajs wraps it in once its own retries run out. */
export function kafkaErrorType(error: unknown): string | undefined {
  let current = error as { type?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; current !== null && current !== undefined && depth < 4; depth++) {
    if (typeof current.type === 'string') return current.type;
    current = current.cause as typeof current;
  }
  return undefined;
}

/**
 * Creating a topic: a busy broker may answer the leader wait with UNKNOWN_TOPIC_OR_PARTITION
 * before the new topic's metadata has spread (kafkajs retries only LEADER_NOT_AVAILABLE there).
 * Creating again is harmless: an existing topic is left as it is.
 */
export const createTopicRetriable = (error: unknown): boolean => isRetriable(error) || kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION';

/**
 * Reading offsets: kafkajs retries UNKNOWN_TOPIC_OR_PARTITION itself (~17 s for a topic that does
 * not exist) but gives up at once on the rest, and a topic just created can answer
 * NOT_LEADER_FOR_PARTITION until its leader is in place (a clean clone's conformance run failed on it).
 */
export const offsetsRetriable = (error: unknown): boolean => isRetriable(error) && kafkaErrorType(error) !== 'UNKNOWN_TOPIC_OR_PARTITION';

export const MAX_TRIES = 6;

/**
 * Runs `attempt` again on the errors `retriable` accepts, backing off 200 ms … 2 s (~5 s over six
 * tries), while `open()` holds; throws the last error otherwise.
 */
export async function withBackoff<T>(
  attempt: () => Promise<T>,
  retriable: (error: unknown) => boolean,
  open: () => boolean,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!retriable(error) || tries >= MAX_TRIES || !open()) throw error;
      await sleep(Math.min(2000, 100 * 2 ** tries));
    }
  }
}
