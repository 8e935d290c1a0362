import { randomUUID } from 'node:crypto';
import { openKafkaEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { schedulerConformanceSuite } from '../conformance/scheduler.suite.js';

const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter((b) => b !== '');

/** Two scheduler instances = two Kafka clients in one consumer group on `<prefix>aerofn.schedule`. */
schedulerConformanceSuite('kafka', async () => ({
  prefix: `t-${randomUUID().slice(0, 8)}.`,
  concurrent: true,
  childEnv: { AEROFN_TEST_KAFKA_BROKERS: brokers.join(','), SCHED_DATA_DIR: '' },
  open: (instance) => openKafkaEventLog({ brokers, clientId: `scheduler-test-${instance}`, logger: silentLogger() }),
  cleanup: async () => undefined,
}));
