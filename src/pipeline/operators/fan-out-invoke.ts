import { isObservable, lastValueFrom, map, mergeMap, Observable, of, Subject, takeUntil, tap, toArray, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import type { ChangeEvent } from '../../triggers/index.js';
import { defaultRetryPolicy } from '../../registry/index.js';
import { deadLetterOf } from '../records.js';
import { invocationIdFor } from '../invocation-id.js';
import type { StageStats } from '../stage-stats.js';
import type { Completion, InvocationTask, LogRecordLike, Routed } from '../types.js';
import type { InFlightInvocations, Join, Work } from '../in-flight.js';
import { invokeOrdered } from './invoke-ordered.js';
import { isRetriable, retryWithBackoff, type AttemptResult } from './retry-backoff.js';

export type { InvocationTask } from '../types.js';

export interface FanOutOptions {
  readonly concurrency: number;
  /**
   * Runs attempt `n` of a task; must not throw or reject (failures come back as `error`). A
   * Promise takes the lean path (no Observable per invocation); an Observable lets marble tests
   * run invocations in virtual time.
   */
  readonly attempt: (task: InvocationTask, n: number) => Observable<AttemptResult> | Promise<AttemptResult>;
  /**
   * The first attempt of a task through a callback (optional; the pipeline's invoker path): no
   * Promise per invocation. Must call `done` once and not throw. Retries still use `attempt`.
   */
  readonly startAttempt?: (task: InvocationTask, n: number, done: (result: AttemptResult) => void) => void;
  readonly scheduler?: SchedulerLike;
  readonly stats?: StageStats;
  readonly now?: () => number;
  /** Tracks the tasks taken in and not settled, so a shutdown can record what it gives up. */
  readonly inFlight?: InFlightInvocations;
}

/** The ordering key of a change: the record key, else table + primary key `id`, else the partition. */
export function orderingKey(record: LogRecordLike, event: ChangeEvent): string {
  if (record.key !== null && record.key !== '') return record.key;
  const id = (event.row ?? event.old)?.['id'];
  if (id !== undefined) return `${event.schema ?? ''}.${event.table}#${JSON.stringify(id)}`;
  return `${record.topic}/${record.partition}`;
}

/**
 * Fans a matched event out to every function it triggers, runs the invocations with bounded
 * concurrency and per-(function, key) order, retries them, and emits one Completion per source
 * record once everything it caused is known. Skips and dead letters complete at once.
 */
export function fanOutInvoke(options: FanOutOptions): OperatorFunction<Routed, Completion> {
  const now = options.now ?? Date.now;
  const stats = options.stats;
  const inFlight = options.inFlight;
  const startAttempt = options.startAttempt;
  return (source) =>
    new Observable<Completion>((subscriber) => {
      // Retries that went down the Promise path cannot be unsubscribed: this cuts their backoff
      // timers (and further attempts) off when the pipeline unsubscribes (a stop past its bound).
      const torn = new Subject<void>();
      const inner = run(source, torn).subscribe(subscriber);
      return () => {
        torn.next();
        inner.unsubscribe();
      };
    });

  function run(source: Observable<Routed>, torn: Subject<void>): Observable<Completion> {
    // One subscription to the source, routing by kind: skips and dead letters complete at once,
    // matched events become tasks for invokeOrdered. (connect + merge of two filtered branches
    // did the same through a Subject: an iterator and a closure per record in RxJS's build.)
    return new Observable<Completion>((subscriber) => {
      let tasks: Subscriber<Work> | undefined;
      const invoked = new Observable<Work>((taskSubscriber) => {
        tasks = taskSubscriber;
      })
        .pipe(
          invokeOrdered(
            (work): ObservableInput<Completion | null> => {
              const started = beginFirst(work);
              const first = options.attempt(work.task, 1);
              if (first instanceof Promise) {
                return first.then((result) => {
                  const next = afterFirst(work, started, result);
                  return isObservable(next) ? lastValueFrom(next.pipe(takeUntil(torn)), { defaultValue: null }) : next;
                });
              }
              return first.pipe(
                mergeMap((result) => {
                  const next = afterFirst(work, started, result);
                  return isObservable(next) ? next : of(next);
                }),
              );
            },
            {
              concurrency: options.concurrency,
              ...(startAttempt === undefined ? {} : { start: (work: Work, done: (value: Completion | null) => void, fail: (error: unknown) => void) => startFirst(startAttempt, work, done, fail, torn) }),
              keyOf: ({ task }: Work) => `${task.fn.name}\u0000${orderingKey(task.record, task.event)}`,
              onActive: (active) => {
                if (stats !== undefined) stats.inFlight = active;
              },
            },
          ),
        )
        .subscribe({
          next: (completion) => {
            if (completion !== null) subscriber.next(completion);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        });
      const outer = source.subscribe({
        next: (item) => {
          if (item.kind === 'skip') subscriber.next({ record: item.record, invocations: [], deadLetters: [] });
          else if (item.kind === 'dead') {
            subscriber.next({ record: item.record, invocations: [], deadLetters: [deadLetterOf(item.record, item.stage, item.reason, { triggerDepth: item.triggerDepth }, now)] });
          } else if (item.kind === 'matched') {
            // One task per (event, function), emitted in place: no Observable or array per event.
            const join: Join = { pending: item.functions.length, record: item.record, invocations: [], deadLetters: [] };
            const { record, event } = item;
            for (const fn of item.functions) {
              const work: Work = { join, task: { record, event, fn, invocationId: invocationIdFor(record.topic, record.partition, record.offset, fn.name, fn.version) }, attempt: 0, startedAt: 0, finished: null, linked: false, prev: null, next: null };
              inFlight?.add(work);
              tasks?.next(work);
            }
          }
        },
        error: (error: unknown) => subscriber.error(error),
        // The output completes when the last task is settled (invokeOrdered completes then).
        complete: () => tasks?.complete(),
      });
      return () => {
        outer.unsubscribe();
        invoked.unsubscribe();
      };
    });
  }

  /** Counts the first attempt of a task in and stamps it; returns when it started. */
  function beginFirst(work: Work): number {
    if (stats !== undefined) stats.in += 1;
    const started = now();
    work.attempt = 1;
    work.startedAt = started;
    return started;
  }

  /** The first attempt on the callback path: the same steps as the Promise path in `work` above. */
  function startFirst(start: NonNullable<FanOutOptions['startAttempt']>, work: Work, done: (value: Completion | null) => void, fail: (error: unknown) => void, torn: Subject<void>): void {
    const started = beginFirst(work);
    start(work.task, 1, (result) => {
      let next: Observable<Completion | null> | Completion | null;
      try {
        next = afterFirst(work, started, result);
      } catch (error) {
        fail(error);
        return;
      }
      if (isObservable(next)) lastValueFrom(next.pipe(takeUntil(torn)), { defaultValue: null }).then(done, fail);
      else done(next);
    });
  }

  /** Most invocations succeed at once: only a failure pays for the retry machinery. */
  function afterFirst(work: Work, started: number, first: AttemptResult): Observable<Completion | null> | Completion | null {
    if (first.error !== null && stats !== undefined) stats.errors += 1;
    const { task } = work;
    const policy = task.fn.config.retry ?? defaultRetryPolicy;
    if (first.error === null || !isRetriable(first.error) || policy.maxAttempts <= 1) return settle(work, [first], started);
    const finished: AttemptResult[] = (work.finished = []);
    const attempt = (n: number): Observable<AttemptResult> | Promise<AttemptResult> => {
      work.attempt = n;
      work.startedAt = now();
      return options.attempt(task, n);
    };
    return retryWithBackoff((n) => (n === 1 ? of(first) : attempt(n)), policy, options.scheduler).pipe(
      tap((result) => {
        finished.push(result);
        if (result.attempt > 1 && result.error !== null && stats !== undefined) stats.errors += 1;
      }),
      toArray(),
      map((results) => settle(work, results, started)),
    );
  }

  function settle(work: Work, results: readonly AttemptResult[], started: number): Completion | null {
    const { join, task } = work;
    if (inFlight !== undefined && !inFlight.settle(work)) return null; // given up at shutdown, already recorded
    for (const result of results) if (result.record !== null) join.invocations.push(result.record);
    const last = results[results.length - 1];
    if (stats !== undefined) stats.observe(now() - started);
    if (last === undefined || last.error !== null) {
      const error = last?.error ?? null;
      join.deadLetters.push(
        deadLetterOf(task.record, 'invoke', error === null ? 'no attempt ran' : `${error.kind} after ${results.length} attempt(s): ${error.message}`, {
          function: { name: task.fn.name, version: task.fn.version },
          invocationId: task.invocationId,
          error,
          attempts: results.length,
          triggerDepth: task.event.triggerDepth,
        }, now),
      );
    } else if (stats !== undefined) {
      stats.out += 1;
    }
    join.pending -= 1;
    return join.pending === 0 ? { record: join.record, invocations: join.invocations, deadLetters: join.deadLetters } : null;
  }
}
