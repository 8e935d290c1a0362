import { randomUUID } from 'node:crypto';
import { FunctionError } from '../errors/index.js';
import type { FunctionLookup } from '../registry/index.js';
import { abandonedRecord } from './abandoned.js';
import type { InvocationRecord, InvokeRequest, Invoker } from './invoker-types.js';

export interface TrackedInvoker extends Pick<Invoker, 'invoke'> {
  /** Invocations started through this invoker that have not answered yet. */
  readonly inFlight: number;
  /**
   * Gives up on every invocation still running: returns one abandoned record each (see
   * abandonedRecord) and makes their calls reject when they end after all, so nobody records
   * them twice. Later calls are not tracked.
   */
  abandon(reason: string, next: string): InvocationRecord[];
}

interface Call {
  readonly request: InvokeRequest;
  readonly id: string;
  readonly startedAtMs: number;
  abandoned: boolean;
}

/**
 * Wraps the invoker the REST and gRPC servers use so a drain can tell which calls were still
 * running when its bound passed and record them (DESIGN §4.6: every invocation has a record).
 */
export function trackInvocations(invoker: Pick<Invoker, 'invoke'>, functions: Pick<FunctionLookup, 'getFunction'>): TrackedInvoker {
  const calls = new Set<Call>();
  let closed = false;
  return {
    get inFlight() {
      return calls.size;
    },
    async invoke(request) {
      if (closed) return invoker.invoke(request);
      // The id is fixed here (as the invoker would pick it) so the abandoned record carries it.
      const id = request.invocationId ?? randomUUID();
      const call: Call = { request: { ...request, invocationId: id }, id, startedAtMs: Date.now(), abandoned: false };
      calls.add(call);
      try {
        const record = await invoker.invoke(call.request);
        if (call.abandoned) throw new FunctionError('Unavailable', 'the service shut down while this invocation ran; it was recorded as abandoned');
        return record;
      } finally {
        calls.delete(call);
      }
    },
    abandon(reason, next) {
      closed = true;
      const now = Date.now();
      const records: InvocationRecord[] = [];
      for (const call of calls) {
        call.abandoned = true;
        const current = functions.getFunction(call.request.functionName);
        const definition = current ?? { name: call.request.functionName, version: call.request.version ?? 0, sha256: '' };
        records.push(abandonedRecord({ definition, request: call.request, id: call.id, startedAtMs: call.startedAtMs, nowMs: now, reason, next }));
      }
      calls.clear();
      return records;
    },
  };
}
