import { openKafkaEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { eventLogSuite } from '../conformance/event-log.suite.js';

const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

eventLogSuite('kafka', () => openKafkaEventLog({ brokers, clientId: 'aerofn-test', logger: silentLogger() }));
