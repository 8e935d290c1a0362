export { createReplayer, MAX_REPLAY_RECORDS } from './replayer.js';
export { findInvocationRecords } from './log-records.js';
export type { Replayer, ReplayerOptions } from './replayer.js';
export type { RecordSource, ReplayEvent, ReplayFinding, ReplayQuery, ReplaySummary, ReplayTarget, ReplayVerdict } from './replay-types.js';
