export type {
  AppendRecord,
  AppendResult,
  Batch,
  EventLog,
  Headers,
  LogRecord,
  LogTransaction,
  StartPosition,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
} from './event-log.js';
