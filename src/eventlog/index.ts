// Before anything loads kafkajs: its per-partition grouping is quadratic (kafka/kafkajs-grouping.ts),
// its CRC-32C goes a byte at a time (kafka/kafkajs-crc32c.ts), its record encoder allocates per
// field (kafka/kafkajs-record-encoder.ts), its record decoder redoes 64-bit arithmetic in Long
// objects per record (kafka/kafkajs-record-decoder.ts), its record batch copies every record several times
// (kafka/kafkajs-record-batch.ts), and its produce request and request frame copy the batch four
// more times (kafka/kafkajs-produce-request.ts, kafka/kafkajs-request-frame.ts). Each goes after
// the modules it loads: the CRC before the batch encoder, the encoders before the produce request.
import './kafka/kafkajs-grouping.js';
import './kafka/kafkajs-crc32c.js';
import './kafka/kafkajs-record-encoder.js';
import './kafka/kafkajs-record-decoder.js';
import './kafka/kafkajs-record-batch.js';
import './kafka/kafkajs-produce-request.js';
import './kafka/kafkajs-request-frame.js';
export type {
  AppendRecord,
  AppendResult,
  Batch,
  BatchResult,
  EventLog,
  Headers,
  LogRecord,
  LogTransaction,
  ReadOptions,
  StartPosition,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
} from './event-log.js';
export { openEventLog } from './open-event-log.js';
export { openEmbeddedEventLog, type EmbeddedEventLog, type EmbeddedEventLogOptions } from './embedded/embedded-event-log.js';
export { openKafkaEventLog, type KafkaEventLog, type KafkaEventLogOptions } from './kafka/kafka-event-log.js';
export { EventLogError, isEventLogError, type EventLogErrorCode } from './event-log-error.js';
export { serveEventLog, type EventLogServer, type ServeEventLogOptions } from './thread/serve-event-log.js';
export { connectEventLog } from './thread/connect-event-log.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export { readToEnd, tail, type ReadToEndOptions, type TailOptions } from './tail.js';
