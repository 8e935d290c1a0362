import { randomUUID } from 'node:crypto';
import { BehaviorSubject, concat, defer, filter, firstValueFrom, interval, isObservable, map, merge, of, Subject, take, takeUntil, timeout, type Observable, type Subscription as RxSubscription } from 'rxjs';
import type { AeroConfig } from '../config/index.js';
import type { EventLog, Subscription } from '../eventlog/index.js';
import type { InvocationRecord, Invoker } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionDefinition } from '../registry/index.js';
import { createTriggerIndex, type TriggerIndex } from '../triggers/index.js';
import { FunctionMetrics } from './function-metrics.js';
import { decodeRecords } from './operators/decode-records.js';
import { fanOutInvoke } from './operators/fan-out-invoke.js';
import { flushBatches } from './operators/flush-batches.js';
import { loopGuard } from './operators/loop-guard.js';
import { matchTriggers } from './operators/match-triggers.js';
import { abandonWith, attemptWith, startAttemptWith } from './invoke-attempt.js';
import { InFlightInvocations } from './in-flight.js';
import { Intake } from './intake.js';
import { NotedRecords } from './noted-records.js';
import { RecentInvocations, seedRecent } from './recent-invocations.js';
import { invocationAppendRecord, SinkWriter } from './sink-writer.js';
import { parseChangeTopics, parseStartPosition } from './source.js';
import { StageStats } from './stage-stats.js';
import { describeTopology, renderTopology, type TopologyDescription, type TopologyNode } from './topology.js';
import type { Completion, LogRecordLike } from './types.js';
import { CommitWatermarks } from './watermark.js';

export interface PipelineOptions {
  readonly log: EventLog;
  /** With `invokeWith` (the sandbox invoker has it) first attempts take its Promise-free path. */
  readonly invoker: Pick<Invoker, 'invoke' | 'invokeWith'>;
  /**
   * The deployed functions: a fixed list, a stream of lists, or the registry itself (anything with
   * `listFunctions()` and a `changes$` stream); the trigger index is rebuilt on every change.
   */
  readonly functions: FunctionSource;
  readonly config: AeroConfig['pipeline'];
  readonly topicPrefix?: string;
  readonly logger: Logger;
  /**
   * Names this instance in metrics and in the transactional id `<groupId>.<instanceId>` (default
   * config.instanceId, AEROFN_INSTANCE_ID, else the host name). In exactly_once it must be stable
   * across restarts and distinct per instance: a restarted instance then fences the open
   * transaction of the one that crashed instead of leaving it to time out.
   */
  readonly instanceId?: string;
  readonly maxBatch?: number;
  readonly metricsIntervalMs?: number;
  readonly drainTimeoutMs?: number;
  readonly recentPerFunction?: number;
  readonly outputPartitions?: number;
  /**
   * Fill the recent-invocations list from the tail of `aerofn.invocations` at start (default
   * true). Stream threads leave it to the main thread, which seeds one list for all of them.
   */
  readonly seedRecent?: boolean;
  /** Longest time one source batch waits for backpressure to ease before taking the rest in (default 10 s). */
  readonly maxBlockMs?: number;
}

export type FunctionSource =
  | readonly FunctionDefinition[]
  | Observable<readonly FunctionDefinition[]>
  | { listFunctions(): FunctionDefinition[]; readonly changes$: Observable<unknown> };

export type PipelineState = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface Pipeline {
  start(): Promise<void>;
  /** Stops intake, lets in-flight work finish for up to `drainTimeoutMs`, flushes and commits. */
  stop(): Promise<void>;
  describe(): Promise<TopologyDescription>;
  describeText(): string;
  /** Each node's recent latency samples: stream threads join them before they take p50/p99. */
  stageSamples(): Record<string, number[]>;
  recentInvocations(functionName: string, limit?: number): InvocationRecord[];
  /**
   * A record made outside the pipeline (REST, gRPC, schedule): added to the recent list and
   * appended to `aerofn.invocations` (fire and forget; a failed append is logged). Records of the
   * pipeline's own database triggers are ignored here: the sinks already wrote them.
   */
  noteInvocation(record: InvocationRecord): void;
  /** Resolves when every noted record is appended (noteInvocation still works after stop()). */
  flushNoted(): Promise<void>;
  /** Noted records dropped since the start because too many waited for the log (NotedRecords). */
  droppedNotedRecords(): number;
  readonly state: PipelineState;
  /** Resolves when the pipeline fails (exactly_once transaction failure); it stops consuming then. */
  readonly failed: Promise<Error>;
  readonly topics: { readonly invocations: string; readonly metrics: string; readonly dlq: string };
}

/** Records taken in from a source batch between two turns of the event loop. */
const INTAKE_SLICE = 256;

export function createPipeline(options: PipelineOptions): Pipeline {
  const { log, config, logger } = options;
  const prefix = options.topicPrefix ?? '';
  const instanceId = options.instanceId ?? config.instanceId ?? randomUUID();
  const maxBatch = options.maxBatch ?? 2000;
  const metricsIntervalMs = options.metricsIntervalMs ?? 5000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const flushAttempts = 5;
  const maxBlockMs = options.maxBlockMs ?? 10_000;
  const topics = { invocations: `${prefix}aerofn.invocations`, metrics: `${prefix}aerofn.metrics`, dlq: `${prefix}aerofn.dlq` };
  const changeTopics = parseChangeTopics(config.changeTopics, prefix);
  const start = parseStartPosition(config.startFrom);

  const stats = {
    source: new StageStats('change-source'),
    decode: new StageStats('decode'),
    loopGuard: new StageStats('loop-guard'),
    match: new StageStats('match'),
    invoke: new StageStats('invoke'),
    commit: new StageStats('commit'),
    invocations: new StageStats('invocations-sink'),
    metrics: new StageStats('metrics-sink'),
    dlq: new StageStats('dlq-sink'),
  };
  const nodes: TopologyNode[] = [
    { name: 'change-source', kind: 'source', topics: changeTopics.map(String), successors: ['decode'], stats: stats.source },
    { name: 'decode', kind: 'processor', successors: ['loop-guard', 'dlq-sink'], stats: stats.decode },
    { name: 'loop-guard', kind: 'processor', successors: ['match', 'dlq-sink'], stats: stats.loopGuard },
    { name: 'match', kind: 'processor', successors: ['invoke', 'commit'], stats: stats.match },
    { name: 'invoke', kind: 'processor', successors: ['invocations-sink', 'metrics-sink', 'dlq-sink', 'commit'], stats: stats.invoke },
    { name: 'commit', kind: 'processor', successors: [], stats: stats.commit },
    { name: 'invocations-sink', kind: 'sink', topics: [topics.invocations], successors: [], stats: stats.invocations },
    { name: 'metrics-sink', kind: 'sink', topics: [topics.metrics], successors: [], stats: stats.metrics },
    { name: 'dlq-sink', kind: 'sink', topics: [topics.dlq], successors: [], stats: stats.dlq },
  ];

  let index: TriggerIndex = createTriggerIndex([]);
  const watermarks = new CommitWatermarks();
  const functionMetrics = new FunctionMetrics(instanceId);
  const recent = new RecentInvocations(options.recentPerFunction ?? 200);
  const writer = new SinkWriter({
    log,
    topics,
    mode: config.mode,
    groupId: config.groupId,
    transactionalId: `${config.groupId}.${instanceId}`,
    watermarks,
    logger,
    stats: { invocations: stats.invocations, metrics: stats.metrics, dlq: stats.dlq, commit: stats.commit },
  });

  let state: PipelineState = 'created';
  let subscription: Subscription | undefined;
  let registrySubscription: RxSubscription | undefined;
  let chain: RxSubscription | undefined;
  const intake = new Intake<LogRecordLike>();
  const intakeDone = new Subject<void>();
  // Shutdown past the drain bound: in-flight tasks are given up (recorded, not committed).
  const inFlight = new InFlightInvocations();
  const giveUp = new Subject<void>();
  let givingUp = false;
  const paused = new BehaviorSubject<boolean>(false);
  let lastMetricsAt = 0;
  let resolveDrained: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  let resolveFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (resolveFailed = resolve));

  // Records of invocations made outside the pipeline (REST, gRPC, schedules): one append per
  // batch, not per record, so an API under load does not pay a log round trip per request.
  const noted = new NotedRecords(log, topics.invocations, logger);

  const setIndex = (functions: readonly FunctionDefinition[]): void => {
    index = createTriggerIndex(functions);
    logger.debug({ triggers: index.size, tables: index.tables() }, 'trigger index rebuilt');
  };

  // Records count, and so do their bytes: 5,000 small change events are a few MB, 5,000 rows of
  // 100 KB half a GB. The source resumes once both are low again.
  const lowWatermarkBytes = Math.floor(config.highWatermarkBytes / 2);
  // exactly_once on Kafka: a batch returns only once its work is committed. kafkajs has no revoke
  // hook, but it rejoins a rebalance only after every eachBatch in progress has returned; so no
  // partition leaves this member (for another stream thread or instance) with results in flight
  // that its next owner, starting at the committed offset, would commit a second time. The
  // embedded log calls onRevoked instead, and at_least_once allows a redelivery, so both keep
  // the overlap of batches. Cost and limits: docs/pipeline.md, "exactly_once".
  const commitBeforeReturn = config.mode === 'exactly_once' && log.kind === 'kafka';
  /** While a batch waits above the high watermark, how often it looks for a rebalance's request (Batch.yieldRequested). */
  const YIELD_CHECK_MS = 100;
  const settledOrStopped = async (topic: string, partition: number): Promise<void> => {
    while (state === 'running' && !watermarks.settled(topic, partition)) await new Promise((resolve) => setTimeout(resolve, 2));
  };
  const aboveHighWatermark = (): boolean => watermarks.inFlight() >= config.highWatermark || watermarks.inFlightBytes() >= config.highWatermarkBytes;
  const releaseIfBelowLow = (): void => {
    if (paused.value && watermarks.inFlight() <= config.lowWatermark && watermarks.inFlightBytes() <= lowWatermarkBytes) {
      subscription?.resume();
      paused.next(false);
    }
  };

  const flush = async (completions: readonly Completion[], forceMetrics = false): Promise<void> => {
    for (const completion of completions) {
      for (const record of completion.invocations) {
        functionMetrics.recordInvocation(record);
        recent.add(record);
      }
      for (const letter of completion.deadLetters) if (letter.function !== null) functionMetrics.recordDeadLetter(letter.function.name);
    }
    const now = Date.now();
    const dueMetrics = forceMetrics || now - lastMetricsAt >= metricsIntervalMs;
    const metrics = dueMetrics ? functionMetrics.drainChanged(now) : [];
    if (dueMetrics) lastMetricsAt = now;
    if (completions.length === 0 && metrics.length === 0) return;
    // A broker hiccup should not stop the pipeline: try the whole flush again (a new
    // transaction in exactly_once) a few times before giving up.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await writer.flush({ completions, metrics });
        break;
      } catch (error) {
        if (attempt >= flushAttempts) throw error;
        logger.warn({ err: error, attempt, records: completions.length }, 'writing results failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** (attempt - 1))));
      }
    }
    releaseIfBelowLow();
  };

  const buildChain = (): RxSubscription =>
    intake.records
      .pipe(
        decodeRecords(stats.decode),
        loopGuard(config.maxTriggerDepth, stats.loopGuard),
        matchTriggers(() => index, stats.match),
        fanOutInvoke({ concurrency: config.concurrency, attempt: attemptWith(options.invoker), ...optionalStart(startAttemptWith(options.invoker)), stats: stats.invoke, inFlight }),
        // When the drain bound passes, the invocations still running are cut off and their
        // records (abandoned) follow the finished ones into the last flush.
        (completions) => concat(completions.pipe(takeUntil(giveUp)), defer(() => (givingUp ? inFlight.abandon(abandonWith(drainTimeoutMs)) : []))),
        (completions) => merge(completions, interval(Math.max(100, metricsIntervalMs)).pipe(map(() => 'tick' as const), takeUntil(intakeDone))),
        flushBatches((batch) => flush(batch), { lingerMs: config.lingerMs, maxBatch, hurry: paused }),
      )
      .subscribe({
        error: (error: unknown) => {
          state = 'failed';
          subscription?.pause();
          logger.error({ err: error }, 'pipeline stopped: writing results or committing offsets failed; restart resumes from the last committed offsets');
          resolveFailed(error instanceof Error ? error : new Error(String(error)));
          resolveDrained();
        },
        complete: () => resolveDrained(),
      });

  return {
    topics,
    get state() {
      return state;
    },
    failed,
    async start() {
      if (state !== 'created') throw new Error(`pipeline cannot start from state ${state}`);
      const partitions = options.outputPartitions ?? 1;
      // Together: on Kafka each creation is a round trip and a wait for the new topic's metadata.
      await Promise.all([
        ...Object.values(topics).map((topic) => log.ensureTopic({ name: topic, partitions })),
        // A change topic made here gets a partition per stream thread, so that each owns one.
        ...changeTopics.flatMap((topic) => (typeof topic === 'string' ? [log.ensureTopic({ name: topic, partitions: Math.max(1, config.threads) })] : [])),
      ]);
      const source = options.functions;
      if (isObservable(source)) registrySubscription = source.subscribe((functions) => setIndex(functions));
      else if ('listFunctions' in source) {
        setIndex(source.listFunctions());
        registrySubscription = source.changes$.subscribe(() => setIndex(source.listFunctions()));
      } else setIndex(source);
      if (options.seedRecent !== false) await seedRecent(log, topics.invocations, recent, logger);
      chain = buildChain();
      state = 'running';
      subscription = await log.subscribe({
        groupId: config.groupId,
        topics: changeTopics,
        start,
        eachBatch: async (batch) => {
          let blockedSince = -1;
          let sinceTurn = 0;
          const { records, yieldRequested } = batch;
          let taken = 0;
          for (; taken < records.length; taken += 1) {
            const record = records[taken]!;
            // A source batch can hold tens of thousands of records: let the event loop turn every
            // INTAKE_SLICE of them, so finished invocations are collected (and their workers fed)
            // while the rest comes in, and timers and I/O never wait for a whole batch.
            if (++sinceTurn > INTAKE_SLICE) {
              sinceTurn = 0;
              await new Promise((resolve) => setImmediate(resolve));
            }
            // Backpressure per record: above the high watermark the fetch pauses and this batch
            // waits (holding the partition's next batch back too) until in-flight work drains
            // below the low watermark. The wait is bounded: a Kafka member that does not return
            // from eachBatch misses heartbeats and is dropped from the group, so past
            // maxBlockMs the rest of the batch is taken in and the paused fetch holds the line.
            if (state === 'running' && aboveHighWatermark()) {
              if (!paused.value) {
                paused.next(true);
                subscription?.pause();
              }
              if (blockedSince < 0) blockedSince = Date.now();
              for (;;) {
                const left = maxBlockMs - (Date.now() - blockedSince);
                if (left <= 0 || yieldRequested?.() === true) break;
                await waitUntil(paused, (value) => !value || state !== 'running', yieldRequested === undefined ? left : Math.min(left, YIELD_CHECK_MS));
                if (!paused.value || state !== 'running') break;
              }
            }
            // A rebalance waits for this member (Kafka): take no more, hand the rest back, so the
            // group does not wait for a whole batch of slow work (nor past its rebalance timeout).
            if (yieldRequested?.() === true) break;
            if (state !== 'running') return; // not tracked, so not committed: redelivered later
            stats.source.in += 1;
            // The source's latency is the age of a record when it is taken in (append → intake).
            if (stats.source.sample()) stats.source.observe(Math.max(0, Date.now() - record.timestamp));
            watermarks.track(record.topic, record.partition, record.offset, (record.key?.length ?? 0) + (record.value?.length ?? 0));
            intake.next(record);
            stats.source.out += 1;
            stats.source.inFlight = watermarks.inFlight();
          }
          if (commitBeforeReturn) await settledOrStopped(batch.topic, batch.partition);
          return taken < records.length ? { taken } : undefined;
        },
        // A rebalance took the partition (another stream thread or instance joined): what it has
        // in flight finishes and is committed before the new owner starts at the committed offset,
        // so no event runs in both (in exactly_once, no result is committed twice).
        onRevoked: async ({ topic, partition }) => {
          const began = Date.now();
          while (state === 'running' && !watermarks.settled(topic, partition)) {
            if (Date.now() - began > drainTimeoutMs) {
              logger.warn({ topic, partition, drainTimeoutMs }, 'a revoked partition\'s work did not finish within the drain bound; its new owner may run some of its events again');
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          watermarks.forget(topic, partition);
        },
      });
      // The log may deliver batches before subscribe() returns: a pause wanted then had no
      // subscription to reach, and the fetch would run on past the high watermark.
      if (paused.value) subscription.pause();
      logger.info({ topics: changeTopics.map(String), groupId: config.groupId, mode: config.mode, start }, 'pipeline started');
    },
    async stop() {
      if (state !== 'running' && state !== 'failed') return;
      if (state === 'running') state = 'stopping';
      subscription?.pause();
      paused.next(false);
      intake.complete();
      intakeDone.next();
      const timedOut = await within(drained, drainTimeoutMs);
      if (timedOut && state === 'stopping') {
        // Give up on what still runs: record each such invocation as abandoned (Unavailable),
        // flush them with everything finished, and commit only the finished prefix: the
        // abandoned events stay uncommitted and are redelivered after a restart.
        const tasks = inFlight.size;
        givingUp = true;
        giveUp.next();
        const flushed = !(await within(drained, Math.min(5000, Math.max(1000, drainTimeoutMs))));
        logger.warn({ tasks, flushed, drainTimeoutMs }, 'stop: in-flight invocations did not finish within the drain bound; recorded them as abandoned, their source records stay uncommitted and will be redelivered');
        if (!flushed) {
          chain?.unsubscribe();
          await writer.commit().catch(() => undefined);
        }
      } else if (timedOut) {
        chain?.unsubscribe();
        await writer.commit().catch(() => undefined);
      }
      // The last metric snapshots, so totals on the metrics topic match what ran.
      else if (state === 'stopping') await flush([], true).catch((error: unknown) => logger.warn({ err: error }, 'could not write the final metric snapshots'));
      registrySubscription?.unsubscribe();
      await noted.drain();
      await subscription?.close();
      if (state === 'stopping') state = 'stopped';
      logger.info('pipeline stopped');
    },
    async describe() {
      const lag = subscription === undefined ? [] : await subscription.assignments().catch(() => []);
      stats.source.inFlight = watermarks.inFlight();
      return describeTopology(nodes, { state, mode: config.mode, groupId: config.groupId, lag });
    },
    describeText: () => renderTopology(nodes),
    stageSamples: () => Object.fromEntries(nodes.map((node) => [node.name, node.stats.recentSamples()])),
    recentInvocations: (functionName, limit) => recent.list(functionName, limit),
    flushNoted: () => noted.drain(),
    droppedNotedRecords: () => noted.dropped,
    noteInvocation(record) {
      if (record.trigger === 'database' && record.source !== null) return;
      recent.add(record);
      noted.add(invocationAppendRecord(record));
    },
  };
}

function optionalStart(start: ReturnType<typeof startAttemptWith>): { startAttempt?: NonNullable<ReturnType<typeof startAttemptWith>> } {
  return start === undefined ? {} : { startAttempt: start };
}

/** Waits for `promise` up to `ms`; true when the time ran out first. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([promise.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)))]);
  clearTimeout(timer);
  return timedOut;
}

/** Resolves when `predicate` holds for the subject's value, or after `timeoutMs`. */
function waitUntil<T>(subject: BehaviorSubject<T>, predicate: (value: T) => boolean, timeoutMs: number): Promise<void> {
  return firstValueFrom(subject.pipe(filter(predicate), take(1), timeout({ first: timeoutMs, with: () => of(undefined) }))).then(() => undefined);
}
