/**
 * A pipeline process for the exactly_once crash test (pipeline-exactly-once.test.ts): reads its
 * settings from the environment, runs until SIGTERM (graceful stop) or SIGKILL (the point).
 * Prints "ready" once consuming, then "progress N" (committed source offsets) every 100 ms.
 * EOS_DATA_DIR set: the embedded log in that directory instead of Kafka.
 */
import { openEmbeddedEventLog, openKafkaEventLog } from '../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker } from '../../src/invoker/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { NEVER } from 'rxjs';
import { createPipeline, createStreamThreads } from '../../src/pipeline/index.js';
import { busyEchoWat } from '../fixtures/wasm/busy-echo.js';
import { compileFixture, watToWasm } from '../fixtures/wasm/compile-fixture.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const dataDir = process.env['EOS_DATA_DIR'];
const log = dataDir === undefined
  ? await openKafkaEventLog({ brokers: env('AEROFN_TEST_KAFKA_BROKERS').split(','), clientId: 'eos-child', logger: silentLogger() })
  : await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
const functions = createInMemoryFunctions();
const invoker = createInvoker({ functions, config: { ...loadConfig({}).sandbox, workers: 1 }, logger: silentLogger() });
await invoker.ready();
// EOS_BUSY_ITERATIONS: functions that take milliseconds (busy-echo.ts), for work still in flight when partitions move.
const busy = process.env['EOS_BUSY_ITERATIONS'];
const echo = busy === undefined ? await compileFixture('echo') : await watToWasm(busyEchoWat(Number(busy)));
await functions.deploy('first', echo, { triggers: [{ type: 'database', table: 'events', operations: ['INSERT'] }] });
await functions.deploy('second', echo, { triggers: [{ type: 'database', table: 'events', operations: ['INSERT'], filter: [{ column: 'n', numeric: ['<', 5000] }] }] });
const base = loadConfig({}).pipeline;
const threads = Number(process.env['EOS_THREADS'] ?? 1);
const common = {
  log,
  config: { ...base, mode: (process.env['EOS_MODE'] ?? 'exactly_once') as 'exactly_once', groupId: env('EOS_GROUP'), concurrency: 16, lingerMs: 50, threads },
  topicPrefix: env('EOS_PREFIX'),
  logger: silentLogger(),
  instanceId: process.env['EOS_INSTANCE'] ?? 'crash-test',
};
// EOS_THREADS > 1: as main.ts composes AEROFN_PIPELINE_THREADS, each thread with a sandbox worker of its own.
const pipeline =
  threads > 1
    ? createStreamThreads({ ...common, threads, functions: { listFunctions: () => functions.list(), changes$: NEVER, getModule: (sha) => functions.getModule(sha) }, hostFunctions: {}, sandbox: { ...loadConfig({}).sandbox, workers: threads } })
    : createPipeline({ ...common, invoker, functions: functions.list() });
await pipeline.start();
process.stdout.write('ready\n');
const changes = `${env('EOS_PREFIX')}aerodb.changes`;
setInterval(() => {
  void log.committedOffsets(env('EOS_GROUP'), changes).then(
    (offsets) => process.stdout.write(`progress ${[...offsets.values()].reduce((a, b) => a + b, 0)}\n`),
    () => undefined,
  );
}, 100).unref();
void pipeline.failed.then((error) => {
  process.stderr.write(`pipeline failed: ${error.message}\n`);
  process.exit(2);
});
process.on('SIGTERM', () => {
  void (async () => {
    await pipeline.stop();
    await invoker.close();
    await log.close();
    process.exit(0);
  })();
});
