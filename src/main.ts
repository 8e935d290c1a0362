/**
 * The composition root (`aerofn serve`): config → logger → event log → database → registry →
 * host functions → invoker → pipeline → REST + gRPC. The only file that knows every domain.
 */
import { readFile } from 'node:fs/promises';
import {
  collectProcessMetrics,
  createFunctionsFacade,
  createGrpcServer,
  createInvocationMetrics,
  createReplayMetrics,
  createRestServer,
  createServiceSlot,
  registerDroppedRecordsMetric,
  registerPipelineMetrics,
  type GrpcServer,
} from './api/index.js';
import { createJwtVerifier } from './auth/index.js';
import { ConfigError, defaultQueryMaxAnswerBytes, loadConfig, type AeroConfig } from './config/index.js';
import { createCaptureSync, createChangeRelay, openDatabase, type ChangeRelay, type Database } from './db/index.js';
import type { EventLog } from './eventlog/index.js';
import { openEventLog } from './eventlog/index.js';
import { createInvoker, trackInvocations, type InvocationRecord } from './invoker/index.js';
import { createRootLogger, type Logger } from './observability/index.js';
import { createPipeline, createStreamThreads, type RunningPipeline } from './pipeline/index.js';
import { createRegistry, defaultRetryPolicy, type Registry } from './registry/index.js';
import { createReplayer, findInvocationRecords } from './replay/index.js';
import { createScheduler, createSchedulerMetrics, type Scheduler } from './scheduler/index.js';
import { validateModule } from './wasm/index.js';
import { createHostFunctions } from './wasm/host/index.js';

export interface RunningService {
  readonly config: AeroConfig;
  /** Bound ports (differ from the config when it asked for port 0). */
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly registry: Registry;
  /** Settles with the error that stopped a part the service cannot run without (the pipeline's sinks, the database). */
  readonly fatal: Promise<Error>;
  /** Drains and closes everything, in reverse order of start; safe to call twice. */
  stop(reason?: string): Promise<void>;
}

export interface StartOptions {
  readonly config: AeroConfig;
  readonly logger: Logger;
  /** The environment `env` host calls read (process.env by default). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Start the stream processor (default true; the API benchmark runs without it). */
  readonly pipeline?: boolean;
}

/** Closes what was opened so far when a later step fails, newest first. */
class Closer {
  private readonly steps: Array<{ name: string; close: () => Promise<unknown> }> = [];
  constructor(private readonly logger: Logger) {}
  add(name: string, close: () => Promise<unknown>): void {
    this.steps.push({ name, close });
  }
  async closeAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      const started = Date.now();
      try {
        await step.close();
        this.logger.info({ step: step.name, ms: Date.now() - started }, 'closed');
      } catch (error) {
        this.logger.error({ err: error, step: step.name }, 'closing failed; carrying on with the rest');
      }
    }
  }
}

export async function startService(options: StartOptions): Promise<RunningService> {
  const { config, logger } = options;
  const closer = new Closer(logger);
  try {
    const log: EventLog = await openEventLog({ config: config.eventLog, dataDir: config.dataDir, logger });
    closer.add('event log', () => log.close());

    const database: Database = await openDatabase({ config, dataDir: config.dataDir, logger: logger.child({ module: 'db' }) });
    closer.add('database', () => database.close());
    // The first part that stopped for good: /healthz fails with it, gRPC health says NOT_SERVING,
    // and serve() drains and exits.
    let stoppedPart: Error | undefined;
    const fatalParts: Array<Promise<Error>> = [];
    await runInitSql(database, config.bootstrap.initSql, logger);

    // Listen before the registry replays: /healthz answers and /readyz says 503 until it caught up.
    const auth = await createJwtVerifier(config.auth);
    if (config.auth.jwtSecret === undefined && config.auth.jwtPublicKeys.length === 0) {
      logger.warn('no AEROFN_JWT_SECRET or AEROFN_JWT_PUBLIC_KEYS: every call that needs a JWT will be refused');
    }
    const slot = createServiceSlot();
    const rest = createRestServer({ service: slot.service, auth, logger: logger.child({ module: 'rest' }), bodyLimitBytes: config.http.bodyLimitBytes, stoppedPart: () => stoppedPart });
    const grpc: GrpcServer = createGrpcServer({ service: slot.service, auth, logger: logger.child({ module: 'grpc' }), maxMessageBytes: config.http.bodyLimitBytes });
    const watchPart = (failed: Promise<Error>): void => {
      fatalParts.push(
        failed.then((error) => {
          stoppedPart ??= error;
          grpc.setServing(false);
          return error;
        }),
      );
    };
    watchPart(database.failed);
    let serversClosed: Promise<void> | undefined;
    // Intake stops first on a drain: the servers close before the pipeline and the stores behind them.
    const closeServers = (): Promise<void> =>
      (serversClosed ??= (async () => {
        slot.drain();
        grpc.setServing(false);
        await Promise.all([
          grpc.close(config.shutdown.drainTimeoutMs),
          // Past the bound, cut keep-alive connections that still carry requests.
          withBound(rest.close(), config.shutdown.drainTimeoutMs).then(() => rest.server.closeAllConnections()),
        ]);
      })());
    closer.add('servers', closeServers);
    await rest.listen({ host: config.http.host, port: config.http.port });
    const address = rest.server.address();
    const httpPort = typeof address === 'object' && address !== null ? address.port : config.http.port;
    const grpcPort = await grpc.listen(config.grpc.host, config.grpc.port);
    logger.info({ http: `${config.http.host}:${httpPort}`, grpc: `${config.grpc.host}:${grpcPort}` }, 'listening; not ready until the registry has caught up');

    const registry = createRegistry({
      log,
      topicPrefix: config.eventLog.topicPrefix,
      defaults: { sandbox: config.sandbox.defaults, retry: defaultRetryPolicy },
      validateModule: async (bytes, limits) => {
        await validateModule(bytes, { memoryMb: limits.memoryMb });
      },
      logger: logger.child({ module: 'registry' }),
    });
    closer.add('registry', () => registry.close());
    // Serve only after the registry has read its log to the end (DESIGN §5).
    await registry.start();
    const capture = syncCapture(registry, database, logger.child({ module: 'change-capture' }));
    closer.add('change capture', async () => capture.stop());

    const hostFunctions = createHostFunctions({
      database,
      httpFetchMaxResponseBytes: config.sandbox.httpFetchMaxResponseBytes,
      dbQueryMaxAnswerBytes: config.database.queryMaxAnswerBytes ?? defaultQueryMaxAnswerBytes,
      environment: options.environment ?? process.env,
    });
    collectProcessMetrics();
    const metrics = createInvocationMetrics();
    const invoker = createInvoker({
      functions: registry,
      config: config.sandbox,
      hostFunctions,
      // PGlite on its own thread: guests' db_query goes there without the main thread.
      ...(database.guestChannels === undefined ? {} : { guestChannels: database.guestChannels }),
      logger: logger.child({ module: 'invoker' }),
      // Every invocation counts on /metrics, whoever caused it (REST, gRPC, a row change, a schedule).
      onRecord: (record) => metrics.observe(record),
    });
    closer.add('invoker', () => invoker.close());
    await invoker.ready();

    let pipeline: RunningPipeline | undefined;
    let relay: ChangeRelay | undefined;
    if (options.pipeline !== false) {
      const common = { log, config: config.pipeline, topicPrefix: config.eventLog.topicPrefix, logger: logger.child({ module: 'pipeline' }), drainTimeoutMs: config.shutdown.drainTimeoutMs };
      pipeline =
        config.pipeline.threads > 1
          ? // Stream threads (docs/pipeline-stream-threads.md): each has its own sandbox pool; host calls come back here.
            createStreamThreads({ ...common, threads: config.pipeline.threads, functions: registry, hostFunctions, sandbox: config.sandbox, onSummary: (summary) => metrics.observe(summary) })
          : createPipeline({ ...common, invoker, functions: registry });
      await pipeline.start();
      watchPart(pipeline.failed);
      const started = pipeline;
      registerDroppedRecordsMetric(() => started.droppedNotedRecords());
      registerPipelineMetrics(() => started.describe());
      closer.add('pipeline', () => started.stop());
      // Row changes captured in the database reach the change topic through the outbox relay.
      const changeTopic = config.pipeline.changeTopics.find((topic) => !topic.startsWith('/'));
      if (changeTopic !== undefined) {
        relay = createChangeRelay({ database, eventLog: log, topic: `${config.eventLog.topicPrefix}${changeTopic}`, logger: logger.child({ module: 'change-relay' }) });
        relay.start();
        const running = relay;
        closer.add('change relay', () => running.stop());
      }
    }

    // Cron schedules (docs/scheduler.md): every instance runs one; only the lease holder fires.
    let scheduler: Scheduler | undefined;
    if (config.scheduler.enabled) {
      const sink = pipeline;
      scheduler = createScheduler({
        log,
        jobs: registry,
        invoker,
        logger: logger.child({ module: 'scheduler' }),
        instanceId: config.pipeline.instanceId ?? 'aerofn',
        topicPrefix: config.eventLog.topicPrefix,
        maxCatchUp: config.scheduler.maxCatchUp,
        startingDeadlineMs: config.scheduler.startingDeadlineMs,
        tickRetentionMs: config.scheduler.tickRetentionMs,
        metrics: createSchedulerMetrics(),
        // Schedule runs reach aerofn.invocations and the recent list like REST invocations do.
        ...(sink === undefined ? {} : { onRecord: (record: InvocationRecord) => sink.noteInvocation(record) }),
      });
      const started = scheduler;
      await started.start();
      closer.add('scheduler', () => started.stop(config.shutdown.drainTimeoutMs));
    }

    // REST and gRPC calls are tracked so a drain can record the ones its bound cut off.
    const apiCalls = trackInvocations(invoker, registry);
    // Replay picks its records from the facade's recent invocations (the pipeline's, seeded from the
    // log), and finds older ones by id on the invocations topic.
    const invocationsTopic = pipeline?.topics.invocations ?? `${config.eventLog.topicPrefix}aerofn.invocations`;
    const replayer = createReplayer({
      functions: registry,
      records: (name, limit) => facade.invocations(name, limit),
      findRecords: (name, ids, signal) => findInvocationRecords(log, invocationsTopic, name, ids, signal),
      sandbox: config.sandbox,
      ...(hostFunctions.env === undefined ? {} : { liveEnv: hostFunctions.env }),
      logger,
    });
    const facade = createFunctionsFacade({
      registry,
      invoker: apiCalls,
      replayer,
      replayMetrics: createReplayMetrics(),
      afterRegistryChange: capture.syncNow,
      ...(pipeline === undefined ? {} : { pipeline }),
    });
    slot.fill(facade);
    grpc.setServing(stoppedPart === undefined);

    logger.info({ http: `${config.http.host}:${httpPort}`, grpc: `${config.grpc.host}:${grpcPort}`, eventLog: log.kind, database: database.kind, functions: registry.listFunctions().length }, 'aerofn serving');

    let stopping: Promise<void> | undefined;
    return {
      config,
      httpPort,
      grpcPort,
      registry,
      // A pipeline whose sinks keep failing has stopped consuming, a database whose engine died answers
      // nothing: better to exit and be restarted than to serve half a service.
      fatal: Promise.race(fatalParts),
      stop(reason = 'stop') {
        stopping ??= (async () => {
          logger.info({ reason }, 'draining: intake stopped, finishing in-flight work');
          // Both intakes stop at once and share one bound (AEROFN_DRAIN_TIMEOUT_MS): the servers
          // finish their requests while the pipeline finishes its invocations. Past the bound the
          // pipeline records what it gave up and leaves those events uncommitted (redelivered).
          await Promise.all([closeServers(), pipeline?.stop(), scheduler?.stop(config.shutdown.drainTimeoutMs)]);
          const abandoned = apiCalls.abandon(
            `the drain bound (${config.shutdown.drainTimeoutMs} ms) passed while it was running`,
            'the caller\'s connection was closed; it is not retried',
          );
          if (abandoned.length > 0) {
            logger.warn({ abandoned: abandoned.length }, 'API invocations still running at the drain bound were recorded as abandoned');
            for (const record of abandoned) pipeline?.noteInvocation(record);
          }
          await pipeline?.flushNoted();
          await closer.closeAll();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await closer.closeAll();
    throw error;
  }
}

async function runInitSql(database: Database, files: readonly string[], logger: Logger): Promise<void> {
  for (const file of files) {
    let sql: string;
    try {
      sql = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError('AEROFN_INIT_SQL', `cannot read ${file}: ${(error as Error).message}`);
    }
    await database.adminScript(sql);
    logger.info({ file }, 'init SQL applied');
  }
}

/**
 * A database trigger needs its table's row changes captured (into the outbox the relay moves to
 * the change topic): captureSync keeps the captured tables in step with the enabled functions,
 * at start and after every registry change. A table created later is picked up on the next change.
 * `syncNow` resolves once capture follows the registry as it is now: the API awaits it before it
 * answers a deploy, so no row inserted after the answer is missed.
 */
function syncCapture(registry: Registry, database: Database, logger: Logger): { stop: () => void; syncNow: () => Promise<void> } {
  const capture = createCaptureSync({ database, logger });
  const sync = (): Promise<void> =>
    capture.sync(registry.listFunctions()).then(
      (result) => {
        if (result.failed.length > 0) {
          logger.warn({ tables: result.failed }, 'cannot capture row changes of these tables yet: create them (AEROFN_INIT_SQL or a migration); retried on the next deploy');
        }
      },
      (error: unknown) => logger.error({ err: error }, 'change capture sync failed'),
    );
  void sync();
  const stop = registry.onChange(() => void sync());
  return { stop: () => void stop(), syncNow: sync };
}

async function withBound(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * `aerofn serve`: settings from the environment, then run until SIGTERM/SIGINT. The first signal
 * drains (bounded by AEROFN_DRAIN_TIMEOUT_MS); a second one exits at once.
 */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: AeroConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`aerofn serve: bad setting ${error.message}\n  \`aerofn serve --help\` lists every setting with its default.\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const logger = createRootLogger({ level: config.logLevel });
  let service: RunningService;
  try {
    service = await startService({ config, logger, environment: env });
  } catch (error) {
    logger.fatal({ err: error }, 'aerofn could not start');
    process.exitCode = 1;
    return;
  }
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting without finishing the drain');
        process.exit(130);
      }
      // A watchdog in case a close hangs past the bound (a stuck broker connection, say).
      setTimeout(() => {
        logger.error('drain overran its bound; exiting');
        process.exit(1);
      }, config.shutdown.drainTimeoutMs * 2 + 5000).unref();
      void service.stop(signal).then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'drain failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void service.fatal.then((error) => {
      logger.fatal({ err: error }, 'a part the service cannot run without stopped for good; draining and exiting so a supervisor restarts this instance');
      process.exitCode = 1;
      void service.stop('fatal').then(resolve, resolve);
    });
  });
  // Everything we own is closed; a library's stray timer or socket must not keep the process up.
  process.exit();
}
