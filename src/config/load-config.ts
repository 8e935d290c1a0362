import { availableParallelism, hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { ConfigError, defaultPgliteHeapMb, defaultPreparedStatements, defaultQueryMaxAnswerBytes, parsers, type AeroConfig, type DeliveryMode, type SettingSpec } from './config-schema.js';

const port = parsers.integer(0, 65535);

/** Every setting by its environment variable; `describeSettings()` prints this table for docs. */
export const settings = {
  dataDir: { env: 'AEROFN_DATA_DIR', description: 'where the embedded log and PGlite live', default: './data', parse: parsers.string },
  logLevel: { env: 'AEROFN_LOG_LEVEL', description: 'pino level', default: 'info', parse: parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent') },
  httpHost: { env: 'AEROFN_HTTP_HOST', description: 'REST listen address', default: '127.0.0.1', parse: parsers.string },
  httpPort: { env: 'AEROFN_HTTP_PORT', description: 'REST port', default: 8080, parse: port },
  httpBodyLimitBytes: { env: 'AEROFN_HTTP_BODY_LIMIT_BYTES', description: 'largest request body (413 above)', default: 48 * 1024 * 1024, parse: parsers.integer(1024, 512 * 1024 * 1024) },
  grpcHost: { env: 'AEROFN_GRPC_HOST', description: 'gRPC listen address', default: '127.0.0.1', parse: parsers.string },
  grpcPort: { env: 'AEROFN_GRPC_PORT', description: 'gRPC port', default: 50051, parse: port },
  drainTimeoutMs: { env: 'AEROFN_DRAIN_TIMEOUT_MS', description: 'SIGTERM: bound on finishing in-flight work before closing', default: 15_000, parse: parsers.integer(0, 3_600_000) },
  jwtSecret: { env: 'AEROFN_JWT_SECRET', description: 'HS256 secret for caller JWTs', default: undefined, parse: parsers.optionalString },
  jwtPublicKeys: { env: 'AEROFN_JWT_PUBLIC_KEYS', description: 'comma-separated PEM files of RS256/ES256 public keys', default: [], parse: parsers.list },
  kafkaBrokers: { env: 'AEROFN_KAFKA_BROKERS', description: 'Kafka bootstrap brokers; unset = embedded log', default: [], parse: parsers.list },
  kafkaClientId: { env: 'AEROFN_KAFKA_CLIENT_ID', description: 'kafkajs client id', default: 'aerofn', parse: parsers.string },
  topicPrefix: { env: 'AEROFN_TOPIC_PREFIX', description: 'prefix of every topic name', default: '', parse: parsers.string },
  fsync: { env: 'AEROFN_LOG_FSYNC', description: 'embedded log: fsync before acknowledging an append', default: true, parse: parsers.boolean },
  databaseUrl: { env: 'DATABASE_URL', description: 'PostgreSQL URL; unset = PGlite in the data dir', default: undefined, parse: parsers.optionalString },
  initSql: { env: 'AEROFN_INIT_SQL', description: 'comma-separated SQL files run as the database owner at start (idempotent scripts)', default: [], parse: parsers.list },
  databasePoolSize: { env: 'AEROFN_DATABASE_POOL_SIZE', description: 'PostgreSQL connections', default: 10, parse: parsers.integer(1, 1000) },
  preparedStatements: { env: 'AEROFN_DATABASE_PREPARED_STATEMENTS', description: 'db_query statements kept prepared per connection (0 = none)', default: defaultPreparedStatements, parse: parsers.integer(0, 10_000) },
  queryMaxAnswerBytes: { env: 'AEROFN_DB_QUERY_MAX_ANSWER_BYTES', description: 'largest db_query answer a guest gets (its JSON); past it the guest gets a 54000 error instead of the rows, and a write is rolled back', default: defaultQueryMaxAnswerBytes, parse: parsers.integer(1024, 1024 * 1024 * 1024) },
  pgliteHeapMb: { env: 'AEROFN_PGLITE_HEAP_MB', description: 'heap limit of the PGlite thread in MB: a statement whose answer outgrows it stops the database thread (the service exits to be restarted) instead of the process running out of memory', default: defaultPgliteHeapMb, parse: parsers.integer(64, 65_536) },
  pgliteThread: { env: 'AEROFN_PGLITE_THREAD', description: 'run the embedded PGlite on a thread of its own (false: on the main thread)', default: true, parse: parsers.boolean },
  workers: { env: 'AEROFN_WORKERS', description: 'sandbox worker threads', default: availableParallelism(), defaultText: 'the number of cores', parse: parsers.integer(1, 256) },
  timeoutMs: { env: 'AEROFN_DEFAULT_TIMEOUT_MS', description: 'default wall-clock limit per invocation', default: 10_000, parse: parsers.integer(1, 900_000) },
  memoryMb: { env: 'AEROFN_DEFAULT_MEMORY_MB', description: 'default linear-memory limit', default: 128, parse: parsers.integer(1, 4096) },
  stackKb: { env: 'AEROFN_DEFAULT_STACK_KB', description: 'default stack limit', default: 1024, parse: parsers.integer(64, 65536) },
  maxLogMessages: { env: 'AEROFN_MAX_LOG_MESSAGES', description: 'log calls kept per invocation', default: 100, parse: parsers.integer(0, 100_000) },
  maxLogMessageBytes: { env: 'AEROFN_MAX_LOG_MESSAGE_BYTES', description: 'bytes kept of one log message', default: 4096, parse: parsers.integer(16, 1_048_576) },
  httpFetchMaxResponseBytes: { env: 'AEROFN_HTTP_FETCH_MAX_RESPONSE_BYTES', description: 'http_fetch response cap', default: 5 * 1024 * 1024, parse: parsers.integer(1024, 256 * 1024 * 1024) },
  pipelineMode: { env: 'AEROFN_PIPELINE_MODE', description: 'at_least_once or exactly_once', default: 'at_least_once' as DeliveryMode, parse: parsers.oneOf('at_least_once', 'exactly_once') },
  changeTopics: { env: 'AEROFN_CHANGE_TOPICS', description: 'change-event topics the pipeline reads', default: ['aerodb.changes'], parse: parsers.list },
  pipelineGroupId: { env: 'AEROFN_PIPELINE_GROUP_ID', description: 'consumer group of the pipeline', default: 'aerofn-pipeline', parse: parsers.string },
  startFrom: { env: 'AEROFN_PIPELINE_START_FROM', description: 'committed, earliest, latest or an ISO time', default: 'committed', parse: parsers.string },
  concurrency: { env: 'AEROFN_PIPELINE_CONCURRENCY', description: 'invocations in flight', default: 64, parse: parsers.integer(1, 10_000) },
  highWatermark: { env: 'AEROFN_PIPELINE_HIGH_WATERMARK', description: 'pause the source above this many events in flight', default: 5000, parse: parsers.integer(1, 1_000_000) },
  lowWatermark: { env: 'AEROFN_PIPELINE_LOW_WATERMARK', description: 'resume the source below this many', default: 2500, parse: parsers.integer(0, 1_000_000) },
  highWatermarkBytes: { env: 'AEROFN_PIPELINE_HIGH_WATERMARK_BYTES', description: 'also pause the source when the events in flight hold this many bytes (keys and values); resume below half', default: 64 * 1024 * 1024, parse: parsers.integer(1024, 2 ** 40) },
  lingerMs: { env: 'AEROFN_PIPELINE_LINGER_MS', description: 'how long finished results wait for company before they are written (cut short while the source is paused by backpressure)', default: 5, parse: parsers.integer(0, 60_000) },
  pipelineThreads: { env: 'AEROFN_PIPELINE_THREADS', description: "stream threads that share the change topics' partitions, each running the whole pipeline with its own sandbox workers (1: the pipeline runs on the main thread; docs/pipeline-stream-threads.md)", default: 1, parse: parsers.integer(1, 16) },
  instanceId: { env: 'AEROFN_INSTANCE_ID', description: 'stable name of this instance (pipeline transactional id in exactly_once, metrics); keep it across restarts', default: hostname(), defaultText: 'the host name', parse: parsers.string },
  maxTriggerDepth: { env: 'AEROFN_MAX_TRIGGER_DEPTH', description: 'loop guard: deepest chain of function-caused changes', default: 8, parse: parsers.integer(1, 1000) },
  schedulerEnabled: { env: 'AEROFN_SCHEDULER_ENABLED', description: 'run the cron scheduler (only the instance holding the lease fires; see docs/scheduler.md)', default: true, parse: parsers.boolean },
  schedulerMaxCatchUp: { env: 'AEROFN_SCHEDULER_MAX_CATCH_UP', description: 'scheduler: most missed runs of one catchUp job run at once; older ones are recorded as skipped', default: 100, parse: parsers.integer(1, 10_000) },
  schedulerStartingDeadlineMs: { env: 'AEROFN_SCHEDULER_STARTING_DEADLINE_MS', description: 'scheduler: without catchUp, the latest missed due time still runs when at most this late', default: 60_000, parse: parsers.integer(0, 86_400_000) },
  schedulerTickRetentionMs: { env: 'AEROFN_SCHEDULER_TICK_RETENTION_MS', description: 'scheduler: delete ticks older than this when creating aerofn.schedule (hourly checkpoints keep each job\'s last run); 0 = keep all', default: 7 * 86_400_000, parse: parsers.integer(0, 3650 * 86_400_000) },
} satisfies Record<string, SettingSpec<unknown>>;

type Settings = typeof settings;
type Values = { [K in keyof Settings]: Settings[K]['default'] | ReturnType<Settings[K]['parse']> };

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Reads settings from the environment, then from an optional JSON file named by AEROFN_CONFIG
 * (keys are the environment variable names; the environment wins), validates and freezes them.
 * Throws ConfigError naming the setting and what it expects.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AeroConfig {
  const file = readConfigFile(env['AEROFN_CONFIG']);
  const values = {} as Record<string, unknown>;
  for (const [key, spec] of Object.entries(settings) as Array<[string, SettingSpec<unknown>]>) {
    const raw = env[spec.env] ?? file[spec.env];
    if (raw === undefined || raw === '') {
      values[key] = spec.default;
      continue;
    }
    try {
      values[key] = spec.parse(String(raw));
    } catch (error) {
      throw new ConfigError(spec.env, (error as Error).message);
    }
  }
  const v = values as Values;
  if (v.lowWatermark >= v.highWatermark) {
    throw new ConfigError(settings.lowWatermark.env, `must be below ${settings.highWatermark.env} (${v.highWatermark})`);
  }
  return deepFreeze<AeroConfig>({
    dataDir: v.dataDir,
    logLevel: v.logLevel,
    http: { host: v.httpHost, port: v.httpPort, bodyLimitBytes: v.httpBodyLimitBytes },
    grpc: { host: v.grpcHost, port: v.grpcPort },
    shutdown: { drainTimeoutMs: v.drainTimeoutMs },
    auth: { jwtSecret: v.jwtSecret, jwtPublicKeys: v.jwtPublicKeys },
    eventLog: {
      kind: v.kafkaBrokers.length > 0 ? 'kafka' : 'embedded',
      kafkaBrokers: v.kafkaBrokers,
      clientId: v.kafkaClientId,
      topicPrefix: v.topicPrefix,
      fsync: v.fsync,
    },
    database: { url: v.databaseUrl, poolSize: v.databasePoolSize, preparedStatements: v.preparedStatements, pgliteThread: v.pgliteThread, pgliteHeapMb: v.pgliteHeapMb, queryMaxAnswerBytes: v.queryMaxAnswerBytes },
    bootstrap: { initSql: v.initSql },
    sandbox: {
      workers: v.workers,
      defaults: { timeoutMs: v.timeoutMs, memoryMb: v.memoryMb, stackKb: v.stackKb },
      maxLogMessages: v.maxLogMessages,
      maxLogMessageBytes: v.maxLogMessageBytes,
      httpFetchMaxResponseBytes: v.httpFetchMaxResponseBytes,
    },
    pipeline: {
      mode: v.pipelineMode,
      changeTopics: v.changeTopics,
      groupId: v.pipelineGroupId,
      startFrom: v.startFrom,
      concurrency: v.concurrency,
      highWatermark: v.highWatermark,
      lowWatermark: v.lowWatermark,
      highWatermarkBytes: v.highWatermarkBytes,
      lingerMs: v.lingerMs,
      maxTriggerDepth: v.maxTriggerDepth,
      threads: v.pipelineThreads,
      instanceId: v.instanceId,
    },
    scheduler: { enabled: v.schedulerEnabled, maxCatchUp: v.schedulerMaxCatchUp, startingDeadlineMs: v.schedulerStartingDeadlineMs, tickRetentionMs: v.schedulerTickRetentionMs },
  });
}

function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (path === undefined || path === '') return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('AEROFN_CONFIG', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError('AEROFN_CONFIG', `${path} is not a JSON object of settings: ${(error as Error).message}`);
  }
}

/** Markdown table of every setting, for docs/configuration.md and `aerofn serve --help`. */
export function describeSettings(): string {
  const rows = Object.values(settings as Record<string, SettingSpec<unknown>>).map(
    (spec) => `| \`${spec.env}\` | ${spec.description} | ${spec.defaultText ?? `\`${JSON.stringify(spec.default) ?? 'unset'}\``} |`,
  );
  return ['| variable | meaning | default |', '|---|---|---|', ...rows].join('\n');
}
