import { mergeMap, type OperatorFunction } from 'rxjs';
import type { TopicPartitionOffset } from '../../eventlog/index.js';
import { CommitWatermarks } from '../watermark.js';

/** What the commit stage hears: a record entered the pipeline, or everything it caused is recorded. */
export type WatermarkSignal =
  | { readonly type: 'received'; readonly topic: string; readonly partition: number; readonly offset: number }
  | { readonly type: 'recorded'; readonly topic: string; readonly partition: number; readonly offset: number };

/**
 * Emits a commit point whenever a partition's watermark moves: the offset after the longest
 * completed prefix. Out-of-order completions hold the commit until the gap before them closes.
 */
export const commitWatermark = (watermarks = new CommitWatermarks()): OperatorFunction<WatermarkSignal, TopicPartitionOffset> =>
  mergeMap((signal) => {
    if (signal.type === 'received') {
      watermarks.track(signal.topic, signal.partition, signal.offset);
      return [];
    }
    watermarks.complete(signal.topic, signal.partition, signal.offset);
    const points = watermarks.pending();
    watermarks.markCommitted(points);
    return points;
  });
