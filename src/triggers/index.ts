export { decodeChange } from './decode.js';
export type { EncodedChange } from './decode.js';
export { triggerDepthHeader } from './change-event.js';
export type { ChangeEvent, DecodeResult } from './change-event.js';
export { matchesFilter, matchesPredicate } from './filter.js';
export { createTriggerIndex, databaseTriggerTables } from './trigger-index.js';
export type { TriggerIndex } from './trigger-index.js';
