import { map, type OperatorFunction } from 'rxjs';
import { decodeChange } from '../../triggers/index.js';
import type { StageStats } from '../stage-stats.js';
import type { LogRecordLike, Routed } from '../types.js';

/** Log record → change event, a skip (tombstone, truncate) or a dead letter with the reason. */
export const decodeRecords = (stats?: StageStats): OperatorFunction<LogRecordLike, Routed> =>
  map((record): Routed => {
    if (stats !== undefined) stats.in += 1;
    const started = stats !== undefined && stats.sample() ? performance.now() : -1;
    const result = decodeChange(record);
    if (started >= 0) stats?.observe(performance.now() - started);
    if (result.kind === 'event') {
      if (stats !== undefined) stats.out += 1;
      return { kind: 'event', record, event: result.event };
    }
    if (result.kind === 'skip') return { kind: 'skip', record, reason: result.reason };
    if (stats !== undefined) stats.errors += 1;
    return { kind: 'dead', record, stage: 'decode', reason: result.reason, triggerDepth: null };
  });
