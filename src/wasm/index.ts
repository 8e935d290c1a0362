export type { HostCallContext, HostCallRecord, HostFunction, HostFunctionName, HostFunctions } from './host-function.js';
