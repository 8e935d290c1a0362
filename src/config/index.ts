export { loadConfig, describeSettings, settings } from './load-config.js';
export { ConfigError, defaultPgliteHeapMb, defaultPreparedStatements, defaultQueryMaxAnswerBytes } from './config-schema.js';
export type { AeroConfig, SandboxLimits, EventLogKind, DeliveryMode } from './config-schema.js';
