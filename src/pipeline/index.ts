export { createPipeline } from './pipeline.js';
export type { FunctionSource, Pipeline, PipelineOptions, PipelineState } from './pipeline.js';
export type { TopologyDescription, PartitionLag } from './topology.js';
export type { StageSnapshot } from './stage-stats.js';
export type { Completion, DeadLetter, DeadLetterStage } from './types.js';
export type { FunctionMetricsSnapshot } from './function-metrics.js';
export { invocationIdFor } from './invocation-id.js';
export { parseStartPosition, parseChangeTopics } from './source.js';
export { INVOCATION_ID_HEADER, invocationAppendRecord } from './sink-writer.js';
