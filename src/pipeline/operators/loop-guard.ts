import { map, type OperatorFunction } from 'rxjs';
import type { StageStats } from '../stage-stats.js';
import type { Routed } from '../types.js';

/**
 * A change written by a function carries the depth of the chain that caused it. Past `maxDepth`
 * the event is dead-lettered instead of invoking anything, so two functions that write each
 * other's tables stop after `maxDepth` rounds instead of looping forever.
 */
export const loopGuard = (maxDepth: number, stats?: StageStats): OperatorFunction<Routed, Routed> =>
  map((item): Routed => {
    if (item.kind !== 'event') return item;
    if (stats !== undefined) stats.in += 1;
    if (item.event.triggerDepth > maxDepth) {
      if (stats !== undefined) stats.errors += 1;
      return {
        kind: 'dead',
        record: item.record,
        stage: 'loop-guard',
        reason: `trigger depth ${item.event.triggerDepth} is past the limit ${maxDepth} (AEROFN_MAX_TRIGGER_DEPTH): functions that write each other's tables form a loop`,
        triggerDepth: item.event.triggerDepth,
      };
    }
    if (stats !== undefined) stats.out += 1;
    return item;
  });
