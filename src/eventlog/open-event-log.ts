import type { Logger } from 'pino';
import type { AeroConfig } from '../config/index.js';
import type { EventLog } from './event-log.js';
import { openEmbeddedEventLog } from './embedded/embedded-event-log.js';
import { openKafkaEventLog } from './kafka/kafka-event-log.js';

/**
 * The one place that picks the adapter: Kafka when brokers are configured
 * (AEROFN_KAFKA_BROKERS), else the file log in `<dataDir>/log`.
 */
export async function openEventLog(options: { config: AeroConfig['eventLog']; dataDir: string; logger: Logger }): Promise<EventLog> {
  const { config, dataDir } = options;
  const logger = options.logger.child({ module: 'eventlog', adapter: config.kind });
  if (config.kind === 'kafka') {
    return openKafkaEventLog({ brokers: config.kafkaBrokers, clientId: config.clientId, logger });
  }
  return openEmbeddedEventLog({ dataDir, fsync: config.fsync, logger });
}
