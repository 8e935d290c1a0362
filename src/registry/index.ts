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

// The live, log-backed registry.
export { createRegistry, defaultMaxModuleBytes, modulesTopicName, registryTopicName } from './registry.js';
export type { CommandCaller, ModuleValidator, Registry, RegistryChange, RegistryOptions, VersionGuard } from './registry-types.js';

// Events and the pure fold.
export { decodeRegistryEvent, encodeRegistryEvent, registryEventTypes } from './registry-events.js';
export type { FunctionDeployed, FunctionDisabled, FunctionEnabled, FunctionUndeployed, ModuleRef, RegistryEvent, RegistryEventType } from './registry-events.js';
export {
  apply,
  buildTriggerIndex,
  emptyRegistryState,
  getFunction,
  getFunctionById,
  getFunctionVersion,
  listFunctions,
  replay,
} from './registry-state.js';
export type { ApplyOutcome, FunctionEntry, RegistryState, RegistryTriggerIndex, RejectReason, ScheduleEntry } from './registry-state.js';
export { canonicalJson, stateHash } from './state-hash.js';

// Point in time and audit (the CLI's `aerofn registry at|history`).
export { foldAt, historyEntry, historyOf, readRegistryRecords, registryAt, registryHistory, viewOf } from './point-in-time.js';
export type { HistoryEntry, PointInTime, RegistryRecord, RegistryView } from './point-in-time.js';

// Command validation (REST/gRPC may validate early with the same messages).
export { functionNamePattern, validateConfig, validateDeployInput, validateFunctionName, validateHostPattern } from './validate-deploy.js';
export type { DeployInput, RegistryDefaults, ValidatedDeploy } from './validate-deploy.js';
export { validateTriggers } from './validate-trigger.js';
export { moduleChunkBytes, sha256Hex } from './module-store.js';
