import { map, type OperatorFunction } from 'rxjs';
import type { TriggerIndex } from '../../triggers/index.js';
import type { StageStats } from '../stage-stats.js';
import type { Routed } from '../types.js';

/**
 * Trigger-index lookup. `index` is read per event, so a registry change (a new index swapped in)
 * applies from the next event on. An event that matches nothing becomes a skip: it is committed
 * and counted, never dropped silently.
 */
export const matchTriggers = (index: () => TriggerIndex, stats?: StageStats): OperatorFunction<Routed, Routed> =>
  map((item): Routed => {
    if (item.kind !== 'event') return item;
    if (stats !== undefined) stats.in += 1;
    const started = stats !== undefined && stats.sample() ? performance.now() : -1;
    const functions = index().lookup(item.event);
    if (started >= 0) stats?.observe(performance.now() - started);
    if (functions.length === 0) return { kind: 'skip', record: item.record, reason: 'no trigger matches' };
    if (stats !== undefined) stats.out += functions.length;
    return { kind: 'matched', record: item.record, event: item.event, functions };
  });
