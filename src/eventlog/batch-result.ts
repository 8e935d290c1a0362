import type { BatchResult } from './event-log.js';

/** How many of a batch's `count` records its handler took (BatchResult; void means all), as every adapter reads it. */
export function takenOf(result: void | BatchResult, count: number): number {
  return result === undefined ? count : Math.max(0, Math.min(count, result.taken));
}
