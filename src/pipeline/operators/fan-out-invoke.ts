import { connect, filter, isObservable, lastValueFrom, map, merge, mergeMap, Observable, of, tap, toArray, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { ChangeEvent } from '../../triggers/index.js';
import type { FunctionDefinition } from '../../registry/index.js';
import { defaultRetryPolicy } from '../../registry/index.js';
import type { InvocationRecord } from '../../invoker/index.js';
import { deadLetterOf } from '../records.js';
import { invocationIdFor } from '../invocation-id.js';
import type { StageStats } from '../stage-stats.js';
import type { Completion, DeadLetter, LogRecordLike, Routed } from '../types.js';
import { invokeOrdered } from './invoke-ordered.js';
import { isRetriable, retryWithBackoff, type AttemptResult } from './retry-backoff.js';

/** One (event, function) pair: the unit that is invoked, retried and maybe dead-lettered. */
export interface InvocationTask {
  readonly record: LogRecordLike;
  readonly event: ChangeEvent;
  readonly fn: FunctionDefinition;
  readonly invocationId: string;
}

export interface FanOutOptions {
  readonly concurrency: number;
  /**
   * Runs attempt `n` of a task; must not throw or reject (failures come back as `error`). A
   * Promise takes the lean path (no Observable per invocation); an Observable lets marble tests
   * run invocations in virtual time.
   */
  readonly attempt: (task: InvocationTask, n: number) => Observable<AttemptResult> | Promise<AttemptResult>;
  readonly scheduler?: SchedulerLike;
  readonly stats?: StageStats;
  readonly now?: () => number;
}

/** The ordering key of a change: the record key, else table + primary key `id`, else the partition. */
export function orderingKey(record: LogRecordLike, event: ChangeEvent): string {
  if (record.key !== null && record.key !== '') return record.key;
  const id = (event.row ?? event.old)?.['id'];
  if (id !== undefined) return `${event.schema ?? ''}.${event.table}#${JSON.stringify(id)}`;
  return `${record.topic}/${record.partition}`;
}

interface Join {
  pending: number;
  readonly record: LogRecordLike;
  readonly invocations: InvocationRecord[];
  readonly deadLetters: DeadLetter[];
}

/**
 * Fans a matched event out to every function it triggers, runs the invocations with bounded
 * concurrency and per-(function, key) order, retries them, and emits one Completion per source
 * record once everything it caused is known. Skips and dead letters complete at once.
 */
export function fanOutInvoke(options: FanOutOptions): OperatorFunction<Routed, Completion> {
  const now = options.now ?? Date.now;
  const stats = options.stats;
  return (source) =>
    source.pipe(
      connect((shared) =>
        merge(
          shared.pipe(
            filter((item) => item.kind === 'skip' || item.kind === 'dead'),
            map((item): Completion => {
              if (item.kind !== 'dead') return { record: item.record, invocations: [], deadLetters: [] };
              return { record: item.record, invocations: [], deadLetters: [deadLetterOf(item.record, item.stage, item.reason, { triggerDepth: item.triggerDepth }, now)] };
            }),
          ),
          shared.pipe(
            // One task per (event, function), emitted in place: no Observable or array per event.
            (matched: Observable<Routed>) =>
              new Observable<{ readonly join: Join; readonly task: InvocationTask }>((subscriber) =>
                matched.subscribe({
                  next: (item) => {
                    if (item.kind !== 'matched') return;
                    const join: Join = { pending: item.functions.length, record: item.record, invocations: [], deadLetters: [] };
                    const { record, event } = item;
                    for (const fn of item.functions) {
                      subscriber.next({ join, task: { record, event, fn, invocationId: invocationIdFor(record.topic, record.partition, record.offset, fn.name, fn.version) } });
                    }
                  },
                  error: (error: unknown) => subscriber.error(error),
                  complete: () => subscriber.complete(),
                }),
              ),
            invokeOrdered(
              ({ join, task }): ObservableInput<Completion | null> => {
                if (stats !== undefined) stats.in += 1;
                const started = now();
                const first = options.attempt(task, 1);
                if (first instanceof Promise) {
                  return first.then((result) => {
                    const next = afterFirst(join, task, started, result);
                    return isObservable(next) ? lastValueFrom(next) : next;
                  });
                }
                return first.pipe(
                  mergeMap((result) => {
                    const next = afterFirst(join, task, started, result);
                    return isObservable(next) ? next : of(next);
                  }),
                );
              },
              {
                concurrency: options.concurrency,
                keyOf: ({ task }) => `${task.fn.name}\u0000${orderingKey(task.record, task.event)}`,
                onActive: (active) => {
                  if (stats !== undefined) stats.inFlight = active;
                },
              },
            ),
            filter((completion): completion is Completion => completion !== null),
          ),
        ),
      ),
    );

  /** Most invocations succeed at once: only a failure pays for the retry machinery. */
  function afterFirst(join: Join, task: InvocationTask, started: number, first: AttemptResult): Observable<Completion | null> | Completion | null {
    if (first.error !== null && stats !== undefined) stats.errors += 1;
    const policy = task.fn.config.retry ?? defaultRetryPolicy;
    if (first.error === null || !isRetriable(first.error) || policy.maxAttempts <= 1) return settle(join, task, [first], started);
    return retryWithBackoff((n) => (n === 1 ? of(first) : options.attempt(task, n)), policy, options.scheduler).pipe(
      tap((result) => {
        if (result.attempt > 1 && result.error !== null && stats !== undefined) stats.errors += 1;
      }),
      toArray(),
      map((results) => settle(join, task, results, started)),
    );
  }

  function settle(join: Join, task: InvocationTask, results: readonly AttemptResult[], started: number): Completion | null {
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
