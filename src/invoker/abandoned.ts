import { FunctionError } from '../errors/index.js';
import type { FunctionDefinition } from '../registry/index.js';
import { guestContextOf } from './guest-context.js';
import type { InvocationRecord, InvokeRequest } from './invoker-types.js';

export interface AbandonedInvocation {
  /** The function as it was when the invocation started (name, version, sha256). */
  readonly definition: Pick<FunctionDefinition, 'name' | 'version' | 'sha256'>;
  readonly request: InvokeRequest;
  /** The invocation id the attempt ran (or would have run) under. */
  readonly id: string;
  readonly startedAtMs: number;
  readonly nowMs: number;
  /** Why it was given up, e.g. "the drain bound (10000 ms) passed while it was running". */
  readonly reason: string;
  /** What happens to the work next (redelivered, or nothing: the caller saw the connection close). */
  readonly next: string;
}

/** Marks an abandoned record's message so readers can tell it from a sandbox's own Unavailable. */
export const ABANDONED_PREFIX = 'abandoned at shutdown:';

/**
 * The record of an invocation the instance gave up on while shutting down: the guest may still
 * have been running (its worker is terminated with the invoker), so there is no output or journal.
 * Its kind is Unavailable (503, retriable: the instance went away, the work itself did not fail);
 * `error.details.abandoned` is true and the message starts with ABANDONED_PREFIX and says whether
 * the work is redelivered.
 */
export function abandonedRecord(abandoned: AbandonedInvocation): InvocationRecord {
  const { definition, request, id, startedAtMs, nowMs } = abandoned;
  const attempt = request.attempt ?? 1;
  const error = new FunctionError('Unavailable', `${ABANDONED_PREFIX} ${abandoned.reason}; ${abandoned.next}`, { details: { abandoned: true } });
  return {
    id,
    function: definition.name,
    version: definition.version,
    sha256: definition.sha256,
    trigger: request.trigger,
    source: request.source ?? null,
    input: request.payload === '' ? 'null' : request.payload,
    context: guestContextOf(definition, request, id, startedAtMs),
    journal: [],
    outcome: { ok: false, error: error.toJSON() },
    attempt,
    startedAt: new Date(startedAtMs).toISOString(),
    durationMs: Math.max(0, nowMs - startedAtMs),
    memoryBytes: 0,
  };
}
