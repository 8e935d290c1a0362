/**
 * Kafka Streams' `num.stream.threads` for the pipeline (docs/pipeline-stream-threads.md): N
 * worker threads, each running the whole pipeline as a member of the one consumer group, so the
 * change topics' partitions are split among them and a partition's records stay in one thread (per-key
 * order holds). The main thread keeps the event log, the registry, the host functions, and what
 * the API needs of a pipeline: the records noted by REST, gRPC and schedules, and the merged view.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type TransferListItem, type Worker } from 'node:worker_threads';
import type { Observable, Subscription as RxSubscription } from 'rxjs';
import type { AeroConfig } from '../config/index.js';
import { startModuleWorker } from '../event-loop/index.js';
import { serveEventLog, type EventLog } from '../eventlog/index.js';
import type { InvocationRecord } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionDefinition } from '../registry/index.js';
import { providedHostFunctions, serveHostCalls, type HostFunctions } from '../wasm/index.js';
import { NotedRecords } from './noted-records.js';
import type { Pipeline, PipelineState } from './pipeline.js';
import { RecentInvocations, seedRecent } from './recent-invocations.js';
import { parseChangeTopics } from './source.js';
import { invocationAppendRecord } from './sink-writer.js';
import { percentileOf, roundMs } from './stage-stats.js';
import type { FromStreamThread, InvocationSummary, StreamThreadInit, ToStreamThread } from './stream-thread-messages.js';
import type { TopologyDescription } from './topology.js';

export interface StreamThreadsOptions {
  readonly threads: number;
  readonly log: EventLog;
  /** The registry: its functions are posted to every thread again on each change. */
  readonly functions: { listFunctions(): FunctionDefinition[]; readonly changes$: Observable<unknown>; getModule(sha256: string): Promise<Uint8Array> };
  readonly hostFunctions: HostFunctions;
  readonly config: AeroConfig['pipeline'];
  readonly sandbox: AeroConfig['sandbox'];
  readonly topicPrefix?: string;
  readonly logger: Logger;
  readonly instanceId?: string;
  readonly drainTimeoutMs?: number;
  readonly maxBatch?: number;
  readonly metricsIntervalMs?: number;
  readonly recentPerFunction?: number;
  /** Every record a thread made, in the parts /metrics counts. */
  readonly onSummary?: (summary: InvocationSummary) => void;
}

/** A pipeline whose recent records live in other threads: asking for them is asynchronous. */
export type RunningPipeline = Omit<Pipeline, 'recentInvocations' | 'stageSamples'> & {
  recentInvocations(functionName: string, limit?: number): InvocationRecord[] | Promise<InvocationRecord[]>;
};

interface StreamThread {
  readonly worker: Worker;
  readonly post: (message: ToStreamThread) => void;
  readonly stopHost: () => void;
  readonly closeLog: () => Promise<void>;
  readonly ask: <T extends FromStreamThread['type']>(make: (id: number) => ToStreamThread, type: T) => Promise<Extract<FromStreamThread, { type: T }>>;
  readonly exited: Promise<void>;
  /** 'started', 'stopped' and 'failed' (with its error) as the thread reports them. */
  readonly events: EventEmitter;
  state: 'starting' | 'running' | 'stopped' | 'failed';
}

export function createStreamThreads(options: StreamThreadsOptions): RunningPipeline {
  const { log, config, logger } = options;
  const prefix = options.topicPrefix ?? '';
  const instanceId = options.instanceId ?? config.instanceId ?? 'aerofn';
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const topics = { invocations: `${prefix}aerofn.invocations`, metrics: `${prefix}aerofn.metrics`, dlq: `${prefix}aerofn.dlq` };
  const noted = new NotedRecords(log, topics.invocations, logger);
  const recent = new RecentInvocations(options.recentPerFunction ?? 200);
  const threads: StreamThread[] = [];
  let state: PipelineState = 'created';
  let text = '';
  let registrySubscription: RxSubscription | undefined;
  let resolveFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (resolveFailed = resolve));
  const markFailed = (error: Error): void => {
    if (state === 'running') state = 'failed';
    resolveFailed(error);
  };

  const spawn = (index: number): StreamThread => {
    const logChannel = new MessageChannel();
    const hostChannel = new MessageChannel();
    const closeLog = serveEventLog(log, logChannel.port1).close;
    const stopHost = serveHostCalls(options.hostFunctions, hostChannel.port1, logger.child({ streamThread: index }));
    const init: StreamThreadInit = {
      index,
      logPort: logChannel.port2,
      logKind: log.kind,
      hostPort: hostChannel.port2,
      hostFunctions: providedHostFunctions(options.hostFunctions),
      pipeline: config,
      // The process's sandbox workers (AEROFN_WORKERS) are shared out among the threads, not
      // multiplied: more workers than cores only adds switching.
      sandbox: { ...options.sandbox, workers: Math.max(1, Math.ceil(options.sandbox.workers / options.threads)) },
      // Distinct per thread: each thread's exactly_once transactions have their own id to fence.
      instanceId: `${instanceId}.${index}`,
      topicPrefix: prefix,
      drainTimeoutMs,
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.metricsIntervalMs === undefined ? {} : { metricsIntervalMs: options.metricsIntervalMs }),
      logLevel: logger.level,
      logBindings: logger.bindings(),
      functions: options.functions.listFunctions(),
    };
    const worker = startWorker(init, [logChannel.port2, hostChannel.port2]);
    let nextId = 0;
    const waiting = new Map<number, (message: FromStreamThread) => void>();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const thread: StreamThread = {
      worker,
      post: (message) => worker.postMessage(message),
      stopHost,
      closeLog,
      exited,
      events: new EventEmitter(),
      state: 'starting',
      ask: (make, type) =>
        new Promise((resolve, reject) => {
          const id = (nextId += 1);
          const timer = setTimeout(() => (waiting.delete(id), reject(new Error(`stream thread ${index} did not answer ${type} in time`))), 10_000);
          waiting.set(id, (message) => (clearTimeout(timer), resolve(message as Extract<FromStreamThread, { type: typeof type }>)));
          worker.postMessage(make(id));
        }),
    };
    worker.on('message', (message: FromStreamThread) => {
      switch (message.type) {
        case 'module':
          options.functions.getModule(message.sha256).then(
            (bytes) => worker.postMessage({ type: 'module', id: message.id, bytes } satisfies ToStreamThread),
            (error: unknown) => worker.postMessage({ type: 'module', id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies ToStreamThread),
          );
          return;
        case 'summaries':
          if (options.onSummary !== undefined) for (const summary of message.summaries) options.onSummary(summary);
          return;
        case 'failed':
          thread.state = 'failed';
          logger.error({ streamThread: index, err: { name: message.name, message: message.message } }, 'a stream thread failed');
          thread.events.emit('failed', Object.assign(new Error(`stream thread ${index}: ${message.message}`), { name: message.name }));
          return;
        case 'described':
        case 'recent': {
          const answer = waiting.get(message.id);
          waiting.delete(message.id);
          answer?.(message);
          return;
        }
        default:
          thread.state = message.type === 'started' ? 'running' : 'stopped';
          if (message.type === 'started') text = message.text;
          thread.events.emit(message.type);
      }
    });
    worker.on('error', (error) => {
      thread.state = 'failed';
      logger.error({ streamThread: index, err: error }, 'a stream thread stopped with an error');
      thread.events.emit('failed', error);
    });
    // A thread that fails fails the pipeline, as one failing on the main thread does.
    thread.events.on('failed', (error: Error) => markFailed(error));
    void exited.then(() => thread.events.emit('exited'));
    return thread;
  };

  /** Resolves when the thread reports `event`; rejects when it fails or exits first. */
  const settled = (thread: StreamThread, event: 'started' | 'stopped'): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        thread.events.off(event, onEvent).off('failed', onFailed).off('exited', onExit);
      };
      const onEvent = (): void => (done(), resolve());
      const onFailed = (error: Error): void => (done(), reject(error));
      const onExit = (): void => (done(), reject(new Error('the stream thread exited')));
      thread.events.on(event, onEvent).on('failed', onFailed).on('exited', onExit);
    });

  return {
    topics,
    get state() {
      return state;
    },
    failed,
    async start() {
      if (state !== 'created') throw new Error(`pipeline cannot start from state ${state}`);
      state = 'running';
      for (let index = 0; index < options.threads; index += 1) threads.push(spawn(index));
      registrySubscription = options.functions.changes$.subscribe(() => {
        const functions = options.functions.listFunctions();
        for (const thread of threads) thread.post({ type: 'functions', functions });
      });
      try {
        await Promise.all(threads.map((thread) => (thread.post({ type: 'start' }), settled(thread, 'started'))));
      } catch (error) {
        await this.stop();
        throw error;
      }
      await seedRecent(log, topics.invocations, recent, logger);
      await warnOfIdleThreads(log, parseChangeTopics(config.changeTopics, prefix), options.threads, logger);
      logger.info({ threads: options.threads, groupId: config.groupId, mode: config.mode }, 'pipeline started in stream threads');
    },
    async stop() {
      if (state !== 'running' && state !== 'failed') return;
      if (state === 'running') state = 'stopping';
      registrySubscription?.unsubscribe();
      // Each thread drains under the same bound as a main-thread pipeline, all at once; one that
      // still has not answered a few seconds past it is terminated (its work stays uncommitted).
      await Promise.all(
        threads.map(async (thread) => {
          if (thread.state === 'running' || thread.state === 'starting' || thread.state === 'failed') {
            thread.post({ type: 'stop' });
            const answered = await Promise.race([settled(thread, 'stopped').then(() => true, () => false), delay(drainTimeoutMs + 10_000).then(() => false)]);
            if (!answered) logger.warn({ streamThread: thread.worker.threadId }, 'a stream thread did not stop in time; terminating it');
          }
          thread.stopHost();
          await thread.closeLog().catch(() => undefined);
          await thread.worker.terminate();
          await thread.exited;
        }),
      );
      await noted.drain();
      if (state === 'stopping') state = 'stopped';
      logger.info('pipeline stopped (stream threads)');
    },
    async describe() {
      const parts = await Promise.all(threads.filter((thread) => thread.state === 'running').map((thread) => thread.ask((id) => ({ type: 'describe', id }), 'described')));
      return mergeDescriptions(parts, state, text);
    },
    describeText: () => text,
    async recentInvocations(functionName, limit = 20) {
      const parts = await Promise.all(
        threads.filter((thread) => thread.state === 'running').map((thread) => thread.ask((id) => ({ type: 'recent', id, name: functionName, limit }), 'recent').then((answer) => answer.records)),
      );
      // Large enough never to trim: the newest `limit` of all the lists are picked by list().
      const merged = new RecentInvocations(Math.max(1, limit) * (parts.length + 1) + 1);
      for (const record of recent.list(functionName, limit)) merged.add(record);
      for (const records of parts) for (const record of [...records].reverse()) merged.add(record);
      return merged.list(functionName, limit);
    },
    noteInvocation(record) {
      if (record.trigger === 'database' && record.source !== null) return;
      recent.add(record);
      noted.add(invocationAppendRecord(record));
    },
    flushNoted: () => noted.drain(),
    droppedNotedRecords: () => noted.dropped,
  };
}

/** A thread owns whole partitions: with fewer partitions than threads, some threads have nothing to do. */
async function warnOfIdleThreads(log: EventLog, topics: ReadonlyArray<string | RegExp>, threads: number, logger: Logger): Promise<void> {
  for (const topic of topics) {
    if (typeof topic !== 'string') continue;
    const partitions = await log.partitionCount(topic).catch(() => undefined);
    if (partitions !== undefined && partitions < threads) {
      logger.warn({ topic, partitions, threads }, 'the change topic has fewer partitions than AEROFN_PIPELINE_THREADS: some stream threads own none and stay idle; give the topic a partition per thread (a multiple of the threads shares the work evenly)');
    }
  }
}

/** One topology: the threads' counters added up, percentiles over their joined samples, all partitions' lag. */
function mergeDescriptions(parts: ReadonlyArray<{ description: TopologyDescription; samples: Record<string, number[]> }>, state: string, text: string): TopologyDescription {
  const first = parts[0]?.description;
  if (first === undefined) return { text, state, mode: '', groupId: '', subTopologies: [], lag: [], totalLag: 0 };
  const nodes = (first.subTopologies[0]?.nodes ?? []).map((node) => {
    const same = parts.map((part) => part.description.subTopologies[0]?.nodes.find((other) => other.name === node.name));
    const sum = (field: 'in' | 'out' | 'errors' | 'inFlight'): number => same.reduce((total, other) => total + (other?.[field] ?? 0), 0);
    const samples = parts.flatMap((part) => part.samples[node.name] ?? []);
    return { ...node, in: sum('in'), out: sum('out'), errors: sum('errors'), inFlight: sum('inFlight'), p50Ms: roundMs(percentileOf(samples, 50)), p99Ms: roundMs(percentileOf(samples, 99)) };
  });
  const lag = parts.flatMap((part) => part.description.lag);
  return { ...first, text, state, subTopologies: [{ id: 0, nodes }], lag, totalLag: lag.reduce((total, part) => total + part.lag, 0) };
}

function startWorker(init: StreamThreadInit, transferList: TransferListItem[]): Worker {
  return startModuleWorker(import.meta.url, 'stream-thread', { workerData: init, transferList });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
