import { FunctionError } from '../errors/index.js';
import type { FunctionsService } from './functions-service.js';

/**
 * The servers listen before the registry has caught up, so that /healthz answers and /readyz says
 * 503 during a long replay (a probe that cannot connect looks like a dead process, not a busy
 * one). Until main.ts puts the real service in, and again while it drains, calls get Unavailable.
 */
export interface ServiceSlot {
  readonly service: FunctionsService;
  fill(service: FunctionsService): void;
  /** Readiness off for good: intake is stopping. */
  drain(): void;
}

export function createServiceSlot(): ServiceSlot {
  let current: FunctionsService | undefined;
  let draining = false;
  const real = (): FunctionsService => {
    if (current === undefined) throw new FunctionError('Unavailable', 'the service is starting: the registry is still reading its log; retry shortly (GET /readyz says when)');
    return current;
  };
  const service: FunctionsService = {
    deploy: (input) => real().deploy(input),
    get: (name) => real().get(name),
    list: () => real().list(),
    undeploy: (input) => real().undeploy(input),
    invoke: (request) => real().invoke(request),
    invocations: (name, limit) => real().invocations(name, limit),
    replay: (query, onEvent, signal) => real().replay(query, onEvent, signal),
    topology: async () => real().topology(),
    registryHistory: (query) => real().registryHistory(query),
    registryAt: (point) => real().registryAt(point),
    stateHash: () => current?.stateHash() ?? '',
    ready: () => !draining && current !== undefined && current.ready(),
  };
  return {
    service,
    fill(next) {
      current = next;
    },
    drain() {
      draining = true;
    },
  };
}
