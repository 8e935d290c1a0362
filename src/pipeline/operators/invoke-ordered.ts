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
 * The items of one key with work queued or running, in arrival order. A lane is in `ready` at most
 * once and only while none of its items runs; the lane object, not its key, goes through the ready
 * queue and back to finish, so an item costs two or three lookups of its key instead of the eight
 * of a Map of arrays, a Set of busy keys and a queue of keys.
 */
interface Lane<T> {
  readonly key: string;
  readonly items: T[];
  /** The next item's index in `items` (taken ones stay until the array is trimmed). */
  head: number;
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
      const lanes = new Map<string, Lane<T>>();
      // Lanes whose next item may start, in the order they became ready: a FIFO with a moving head
      // (Array#shift is O(n) once V8 leaves its fast path).
      let ready: Lane<T>[] = [];
      let readyHead = 0;
      const running = new Set<Subscription>();
      let active = 0;
      let closed = false;
      let sourceDone = false;
      let queued = 0;

      const maybeComplete = (): void => {
        if (sourceDone && active === 0 && queued === 0) subscriber.complete();
      };

      /** The lane's next item, dropping the lane's spent prefix once it outgrows the rest. */
      const takeFrom = (lane: Lane<T>): T => {
        const item = lane.items[lane.head] as T;
        lane.head += 1;
        if (lane.head === lane.items.length) {
          lane.items.length = 0;
          lane.head = 0;
        } else if (lane.head > 64 && lane.head * 2 > lane.items.length) {
          lane.items.splice(0, lane.head);
          lane.head = 0;
        }
        return item;
      };

      const startReady = (): void => {
        while (active < limit && readyHead < ready.length) {
          const lane = ready[readyHead] as Lane<T>;
          readyHead += 1;
          if (readyHead > 1024 && readyHead * 2 > ready.length) {
            ready = ready.slice(readyHead);
            readyHead = 0;
          }
          queued -= 1;
          run(lane, takeFrom(lane));
        }
      };

      const finish = (lane: Lane<T>, inner: Subscription | undefined): void => {
        if (inner !== undefined) running.delete(inner);
        active -= 1;
        if (lane.head < lane.items.length) ready.push(lane);
        else lanes.delete(lane.key);
        options.onActive?.(active);
        startReady();
        maybeComplete();
      };

      const run = (lane: Lane<T>, item: T): void => {
        active += 1;
        const onValue = (value: R): void => {
          if (closed) return;
          subscriber.next(value);
          finish(lane, undefined);
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
            finish(lane, holder.inner);
          },
        });
        if (!holder.done) running.add(holder.inner);
        options.onActive?.(active);
      };

      const outer = source.subscribe({
        next: (item) => {
          const key = options.keyOf(item);
          let lane = lanes.get(key);
          if (lane === undefined) {
            lane = { key, items: [item], head: 0 };
            lanes.set(key, lane);
            ready.push(lane);
          } else {
            // A lane in `lanes` is running or waits in `ready` already: its next turn comes then.
            lane.items.push(item);
          }
          queued += 1;
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
