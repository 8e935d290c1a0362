import { serviceRoleContext } from '../auth/index.js';
import { toFunctionError } from '../errors/index.js';
import type { Invoker } from '../invoker/index.js';
import type { InvocationTask } from './operators/fan-out-invoke.js';
import type { AttemptResult } from './operators/retry-backoff.js';

/** The database-trigger payload of DESIGN §4.2: `{table, op, row, old}`. */
export function payloadOf(task: InvocationTask): string {
  const { event } = task;
  return JSON.stringify({ table: event.table, schema: event.schema, op: event.op, row: event.row, old: event.old });
}

/**
 * One attempt through the Invoker: the event's RLS context (else the service role), the stable
 * invocation id (derived from the version the event matched), the source position and the trigger depth (the db host function stamps writes
 * with depth + 1 so the loop guard sees the chain). A rejection (the function vanished, the
 * invoker is closing) becomes an error result like a guest failure.
 */
export const attemptWith =
  (invoker: Pick<Invoker, 'invoke'>) =>
  async (task: InvocationTask, attempt: number): Promise<AttemptResult> => {
    try {
      const record = await invoker.invoke({
        // Not pinned to the matched version: a redeploy while this event is in flight runs the
        // new version (the record says which) instead of failing as NotFound into the DLQ.
        functionName: task.fn.name,
        payload: payloadOf(task),
        trigger: 'database',
        rls: task.event.context ?? serviceRoleContext,
        invocationId: task.invocationId,
        attempt,
        source: { topic: task.record.topic, partition: task.record.partition, offset: task.record.offset },
        triggerDepth: task.event.triggerDepth,
      });
      return { attempt, record, error: record.outcome.ok ? null : record.outcome.error };
    } catch (error) {
      return { attempt, record: null, error: toFunctionError(error).toJSON() };
    }
  };
