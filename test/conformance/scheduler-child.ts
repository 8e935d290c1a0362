/**
 * A scheduler instance in its own process, for the SIGKILL failover test (scheduler.suite.ts):
 * SCHED_DATA_DIR set = the embedded log there, else Kafka at AEROFN_TEST_KAFKA_BROKERS. Deploys
 * the test jobs, prints "leader" once it holds the lease, then "record <json>" per invocation.
 */
import { openEmbeddedEventLog, openKafkaEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { deployTestJobs, startSchedulerInstance } from './scheduler-instance.js';

const dataDir = process.env['SCHED_DATA_DIR'];
const prefix = process.env['SCHED_PREFIX'] ?? '';
const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const log = dataDir === undefined || dataDir === ''
  ? await openKafkaEventLog({ brokers, clientId: 'scheduler-child', logger: silentLogger() })
  : await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
const instance = await startSchedulerInstance(log, prefix, 'child', (record) => {
  process.stdout.write(`record ${JSON.stringify({ id: record.id, function: record.function, input: record.input, trigger: record.trigger, role: record.context.role, ok: record.outcome.ok })}\n`);
});
while (!instance.scheduler.isLeader()) await new Promise((resolve) => setTimeout(resolve, 50));
await deployTestJobs(instance.registry);
process.stdout.write('leader\n');
// Runs until killed.
setInterval(() => undefined, 1 << 30);
