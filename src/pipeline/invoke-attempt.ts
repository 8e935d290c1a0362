import { serviceRoleContext } from '../auth/index.js';
import { toFunctionError } from '../errors/index.js';
import { abandonedRecord, type InvocationRecord, type Invoker, type InvokeRequest } from '../invoker/index.js';
import type { InvocationTask } from './types.js';
import type { AttemptResult } from './operators/retry-backoff.js';

/** `{"table":…,"schema":…,"op":…,"row":` by table, then schema and op: a handful per deployment. */
const payloadHeads = new Map<string, Map<string | null, Map<string, string>>>();
const MAX_PAYLOAD_TABLES = 1024;

function payloadHead(table: string, schema: string | null, op: string): string {
  let bySchema = payloadHeads.get(table);
  if (bySchema === undefined) {
    bySchema = new Map();
    if (payloadHeads.size < MAX_PAYLOAD_TABLES) payloadHeads.set(table, bySchema);
  }
  let byOp = bySchema.get(schema);
  if (byOp === undefined) bySchema.set(schema, (byOp = new Map()));
  let head = byOp.get(op);
  if (head === undefined) byOp.set(op, (head = `{"table":${JSON.stringify(table)},"schema":${JSON.stringify(schema)},"op":${JSON.stringify(op)},"row":`));
  return head;
}

/**
 * The database-trigger payload of DESIGN §4.2, `{table, schema, op, row, old}`, as JSON.stringify
 * writes it. Its head repeats for every change of a table, so it is written once.
 */
export function payloadOf(task: InvocationTask): string {
  const { event } = task;
  return `${payloadHead(event.table, event.schema, event.op)}${JSON.stringify(event.row ?? null)},"old":${JSON.stringify(event.old ?? null)}}`;
}

/**
 * The request of attempt `attempt`: the event's RLS context (else the service role), the stable
 * invocation id (derived from the version the event matched), the source position and the
 * trigger depth (the db host function stamps writes with depth + 1 so the loop guard sees the chain).
 */
export function requestOf(task: InvocationTask, attempt: number): InvokeRequest {
  return {
    // Not pinned to the matched version: a redeploy while this event is in flight runs the
    // new version (the record says which) instead of failing as NotFound into the DLQ.
    functionName: task.fn.name,
    payload: payloadOf(task),
    payloadIsJson: true,
    trigger: 'database',
    rls: task.event.context ?? serviceRoleContext,
    invocationId: task.invocationId,
    attempt,
    source: { topic: task.record.topic, partition: task.record.partition, offset: task.record.offset },
    triggerDepth: task.event.triggerDepth,
  };
}

/**
 * One attempt through the Invoker. A rejection (the function vanished, the invoker is closing)
 * becomes an error result like a guest failure.
 */
export const attemptWith =
  (invoker: Pick<Invoker, 'invoke'>) =>
  async (task: InvocationTask, attempt: number): Promise<AttemptResult> => {
    try {
      const record = await invoker.invoke(requestOf(task, attempt));
      return { attempt, record, error: record.outcome.ok ? null : record.outcome.error };
    } catch (error) {
      return { attempt, record: null, error: toFunctionError(error).toJSON() };
    }
  };

/**
 * One attempt through the Invoker's callback path (`invokeWith`), when it has one: no Promise
 * per invocation. Undefined for an invoker without it (the Promise path then runs).
 */
export const startAttemptWith = (invoker: Pick<Invoker, 'invoke' | 'invokeWith'>): ((task: InvocationTask, attempt: number, done: (result: AttemptResult) => void) => void) | undefined =>
  invoker.invokeWith === undefined
    ? undefined
    : (task, attempt, done) =>
        invoker.invokeWith?.(requestOf(task, attempt), (record, error) =>
          done(record === undefined ? { attempt, record: null, error: toFunctionError(error).toJSON() } : { attempt, record, error: record.outcome.ok ? null : record.outcome.error }),
        );

/** The record of an attempt given up at shutdown (see InFlightInvocations.abandon). */
export const abandonWith =
  (drainTimeoutMs: number, now: () => number = Date.now) =>
  (task: InvocationTask, attempt: number, startedAt: number, running: boolean): InvocationRecord => {
    const at = now();
    return abandonedRecord({
      definition: task.fn,
      request: requestOf(task, attempt),
      id: task.invocationId,
      startedAtMs: running ? startedAt : at,
      nowMs: at,
      reason: running
        ? `the drain bound (${drainTimeoutMs} ms) passed while attempt ${attempt} was running`
        : `the drain bound (${drainTimeoutMs} ms) passed before attempt ${attempt} (waiting for its retry backoff) started`,
      next: 'the source event stays uncommitted and is redelivered after a restart (same invocation id)',
    });
  };
