import type { FunctionDefinition } from '../registry/index.js';
import type { GuestContext, InvokeRequest } from './invoker-types.js';

/** What `context()` answers the guest (DESIGN §4.2), and what its invocation record keeps. */
export function guestContextOf(definition: Pick<FunctionDefinition, 'name' | 'version'>, request: InvokeRequest, id: string, startedAtMs: number): GuestContext {
  return {
    invocationId: id,
    function: definition.name,
    version: definition.version,
    trigger: request.trigger,
    role: request.rls.role,
    sub: request.rls.sub,
    claims: request.rls.claims,
    attempt: request.attempt ?? 1,
    now: startedAtMs,
  };
}
