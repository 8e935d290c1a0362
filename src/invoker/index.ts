export type {
  GuestContext,
  InvocationOutcome,
  InvocationRecord,
  InvokeRequest,
  Invoker,
  SourcePosition,
  TriggerType,
} from './invoker-types.js';
