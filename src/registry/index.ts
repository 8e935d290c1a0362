export { defaultRetryPolicy } from './function-definition.js';
export type {
  DatabaseOperation,
  FilterPredicate,
  FunctionConfig,
  FunctionDefinition,
  FunctionLookup,
  RetryPolicy,
  Trigger,
} from './function-definition.js';
