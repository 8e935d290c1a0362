export type {
  GuestContext,
  InvocationOutcome,
  InvocationRecord,
  InvokeCallback,
  InvokeRequest,
  Invoker,
  SourcePosition,
  TriggerType,
} from './invoker-types.js';
export { createInvoker } from './invoker.js';
export { invocationRecordJson } from './record-json.js';
export type { InvokerOptions, SandboxInvoker } from './invoker.js';
export { createInMemoryFunctions } from './in-memory-functions.js';
export type { DeployOptions, InMemoryFunctions } from './in-memory-functions.js';
export { abandonedRecord, ABANDONED_PREFIX } from './abandoned.js';
export type { AbandonedInvocation } from './abandoned.js';
export { trackInvocations } from './tracked-invoker.js';
export type { TrackedInvoker } from './tracked-invoker.js';
