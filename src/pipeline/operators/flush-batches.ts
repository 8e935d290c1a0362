import { Observable, type OperatorFunction } from 'rxjs';

export interface FlushBatchesOptions {
  /** How long the first item of a batch may wait for company (Kafka producer's linger.ms). */
  readonly lingerMs: number;
  readonly maxBatch: number;
  /**
   * While the latest value is true, nothing lingers: what is pending is flushed at once. The
   * pipeline passes "the source is paused by backpressure": then no company is coming, since the
   * source waits for exactly these items to be written.
   */
  readonly hurry?: Observable<boolean>;
}

/**
 * Batches items for a sink that must run one flush at a time: while a flush runs, arrivals pile
 * up and the next flush takes all of them (up to maxBatch). Unlike bufferTime + concatMap, a slow
 * flush (an fsync, a broker round trip) makes the next batch bigger instead of queueing many
 * small ones, so throughput grows with load. `flush([])` is called for a `tick` (metrics).
 * Emits the size of each flushed batch; completes after the last flush.
 */
export function flushBatches<T>(flush: (batch: T[]) => Promise<void>, options: FlushBatchesOptions): OperatorFunction<T | 'tick', number> {
  return (source) =>
    new Observable<number>((subscriber) => {
      let pending: T[] = [];
      let ticked = false;
      let flushing = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let sourceDone = false;
      let closed = false;
      let hurrying = false;

      const schedule = (): void => {
        if (flushing || timer !== undefined || closed) return;
        if (pending.length === 0 && !ticked) {
          if (sourceDone) subscriber.complete();
          return;
        }
        const delay = pending.length >= options.maxBatch || sourceDone || hurrying ? 0 : options.lingerMs;
        timer = setTimeout(run, delay);
      };

      // No more company is coming (the source completed, or it waits for these very items):
      // a lingering batch goes now.
      const cutLinger = (): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule();
      };

      const run = (): void => {
        timer = undefined;
        flushing = true;
        const batch = pending.length <= options.maxBatch ? pending : pending.slice(0, options.maxBatch);
        pending = batch === pending ? [] : pending.slice(options.maxBatch);
        ticked = false;
        flush(batch).then(
          () => {
            flushing = false;
            if (closed) return;
            subscriber.next(batch.length);
            schedule();
          },
          (error: unknown) => {
            flushing = false;
            subscriber.error(error);
          },
        );
      };

      const subscription = source.subscribe({
        next: (item) => {
          if (item === 'tick') ticked = true;
          else pending.push(item);
          schedule();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          cutLinger();
        },
      });
      const hurrySubscription = options.hurry?.subscribe((value) => {
        hurrying = value;
        if (hurrying) cutLinger();
      });
      return () => {
        closed = true;
        if (timer !== undefined) clearTimeout(timer);
        hurrySubscription?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
