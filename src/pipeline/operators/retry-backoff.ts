import { concat, defer, mergeMap, of, timer, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';
import { errorTable, type FunctionErrorJson } from '../../errors/index.js';
import type { RetryPolicy } from '../../registry/index.js';
import type { InvocationRecord } from '../../invoker/index.js';

/** One attempt: the record when the guest ran, the error when it failed (or never ran). */
export interface AttemptResult {
  readonly attempt: number;
  readonly record: InvocationRecord | null;
  readonly error: FunctionErrorJson | null;
}

/** Exponential backoff after attempt `n` (1-based): initial · 2^(n-1), capped at maxBackoffMs. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
}

export function isRetriable(error: FunctionErrorJson): boolean {
  return errorTable[error.kind]?.retriable ?? false;
}

/**
 * Runs attempt 1, and after a retriable failure (src/errors: Timeout, HostFunctionError,
 * Unavailable) waits the backoff and runs the next, up to `policy.maxAttempts`. Emits every
 * attempt's result (each is recorded) and completes after a success, a non-retriable failure
 * or the last attempt. The waits use `scheduler`, so marble tests run them in virtual time.
 */
export function retryWithBackoff(
  attempt: (n: number) => ObservableInput<AttemptResult>,
  policy: RetryPolicy,
  scheduler?: SchedulerLike,
): Observable<AttemptResult> {
  const maxAttempts = Math.max(1, policy.maxAttempts);
  const run = (n: number): Observable<AttemptResult> =>
    defer(() => attempt(n)).pipe(
      mergeMap((result) => {
        if (result.error === null || !isRetriable(result.error) || n >= maxAttempts) return of(result);
        const wait = scheduler === undefined ? timer(backoffDelay(policy, n)) : timer(backoffDelay(policy, n), scheduler);
        return concat(of(result), wait.pipe(mergeMap(() => run(n + 1))));
      }),
    );
  return run(1);
}
