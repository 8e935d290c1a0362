import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

export interface InvokeOrderedOptions<T, R = unknown> {
  /** At most this many `work` calls run at once. */
  readonly concurrency: number;
  /** Items with one key run one after another in arrival order; different keys run in parallel. */
  readonly keyOf: (item: T) => string;
  /** Told when a work item starts and ends (for in-flight gauges). */
  readonly onActive?: (active: number) => void;
  /**
   * Runs an item without a Promise or Observable (used instead of `work` when given): call `done`
   * once with the result, or `fail` to error the stream, as a rejected Promise would.
   */
  readonly start?: (item: T, done: (value: R) => void, fail: (error: unknown) => void) => void;
}

/**
 * mergeMap with a concurrency bound and per-key order: like Kafka Streams' tasks, one key is a
 * lane that never overtakes itself, and free slots go to the lanes in the order they became ready.
 * mergeMap alone would reorder one key's events; concatMap would serialise everything.
 */
export function invokeOrdered<T, R>(work: (item: T) => ObservableInput<R>, options: InvokeOrderedOptions<T, R>): OperatorFunction<T, R> {
  const limit = Math.max(1, options.concurrency);
  return (source) =>
    new Observable<R>((subscriber) => {
      const lanes = new Map<string, T[]>();
      const busy = new Set<string>();
      // A FIFO with a moving head: Array#shift is O(n) once V8 leaves its fast path.
      let readyKeys: string[] = [];
      let readyHead = 0;
      const running = new Set<Subscription>();
      let active = 0;
      let closed = false;
      let sourceDone = false;
      let queued = 0;

      const maybeComplete = (): void => {
        if (sourceDone && active === 0 && queued === 0) subscriber.complete();
      };

      const startReady = (): void => {
        while (active < limit && readyHead < readyKeys.length) {
          const key = readyKeys[readyHead] as string;
          readyHead += 1;
          if (readyHead > 1024 && readyHead * 2 > readyKeys.length) {
            readyKeys = readyKeys.slice(readyHead);
            readyHead = 0;
          }
          const lane = lanes.get(key);
          const item = lane?.shift();
          if (item === undefined || lane === undefined) continue;
          if (lane.length === 0) lanes.delete(key);
          queued -= 1;
          busy.add(key);
          run(key, item);
        }
      };

      const finish = (key: string, inner: Subscription | undefined): void => {
        if (inner !== undefined) running.delete(inner);
        active -= 1;
        busy.delete(key);
        if (lanes.has(key)) readyKeys.push(key);
        options.onActive?.(active);
        startReady();
        maybeComplete();
      };

      const run = (key: string, item: T): void => {
        active += 1;
        const onValue = (value: R): void => {
          if (closed) return;
          subscriber.next(value);
          finish(key, undefined);
        };
        const onError = (error: unknown): void => {
          if (!closed) subscriber.error(error);
        };
        if (options.start !== undefined) {
          options.start(item, onValue, onError);
          options.onActive?.(active);
          return;
        }
        const input = work(item);
        if (input instanceof Promise) {
          // A Promise needs no Observable around it: the common case stays allocation-light.
          input.then(onValue, onError);
          options.onActive?.(active);
          return;
        }
        // A holder, not a const: a synchronous inner completes inside subscribe(), before it returns.
        const holder: { inner?: Subscription; done: boolean } = { done: false };
        holder.inner = from(input).subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            holder.done = true;
            finish(key, holder.inner);
          },
        });
        if (!holder.done) running.add(holder.inner);
        options.onActive?.(active);
      };

      const outer = source.subscribe({
        next: (item) => {
          const key = options.keyOf(item);
          const lane = lanes.get(key);
          if (lane === undefined) lanes.set(key, [item]);
          else lane.push(item);
          queued += 1;
          if (!busy.has(key) && lane === undefined) readyKeys.push(key);
          startReady();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          maybeComplete();
        },
      });

      return () => {
        closed = true;
        outer.unsubscribe();
        for (const inner of running) inner.unsubscribe();
        running.clear();
      };
    });
}
