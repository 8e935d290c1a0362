/**
 * A stream thread's entry (docs/pipeline-stream-threads.md): the whole pipeline, unchanged, over
 * the main thread's event log (through a port), with a sandbox pool of its own and the main
 * thread's host functions (through another port). The main thread (stream-threads.ts) starts it,
 * feeds it the registry's functions and asks it for its topology and recent records.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BehaviorSubject } from 'rxjs';
import { connectEventLog } from '../eventlog/index.js';
import { createInvoker, type InvocationRecord } from '../invoker/index.js';
import { createThreadLogger } from '../observability/index.js';
import type { FunctionDefinition, FunctionLookup } from '../registry/index.js';
import { relayedHostFunctions } from '../wasm/index.js';
import { createPipeline } from './pipeline.js';
import type { FromStreamThread, InvocationSummary, StreamThreadInit, ToStreamThread } from './stream-thread-messages.js';

const init = workerData as StreamThreadInit;
const port = parentPort;
if (port === null) throw new Error('stream-thread.ts runs as a worker thread');
const post = (message: FromStreamThread): void => port.postMessage(message);

const logger = createThreadLogger({ level: init.logLevel, bindings: { ...init.logBindings, streamThread: init.index } });
const definitions = new BehaviorSubject<readonly FunctionDefinition[]>(init.functions);
let byName = new Map(init.functions.map((fn) => [fn.name, fn]));
definitions.subscribe((functions) => (byName = new Map(functions.map((fn) => [fn.name, fn]))));

// Modules come from the main thread's registry once per thread; the invoker's cache keeps them.
let nextModuleId = 0;
const modulesAsked = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
const lookup: FunctionLookup = {
  getFunction: (name) => byName.get(name),
  getModule: (sha256) =>
    new Promise((resolve, reject) => {
      const id = (nextModuleId += 1);
      modulesAsked.set(id, { resolve, reject });
      post({ type: 'module', id, sha256 });
    }),
};

// /metrics lives on the main thread: the records' countable parts go there a batch at a time.
let summaries: InvocationSummary[] = [];
// Only what is counted crosses: not the output, not the host calls' requests, and of an answer only
// enough to tell an `{"error": …}` answer from another.
const okOutcome = { ok: true, output: '' } as const;
const summarize = (record: InvocationRecord): void => {
  const journal =
    record.journal.length === 0
      ? record.journal
      : record.journal.filter((entry) => entry.fn !== 'log' && entry.fn !== 'context').map((entry) => ({ ...entry, request: '', response: entry.response === null ? null : entry.response.slice(0, 32) }));
  summaries.push({ function: record.function, trigger: record.trigger, outcome: record.outcome.ok ? okOutcome : record.outcome, durationMs: record.durationMs, memoryBytes: record.memoryBytes, journal });
};
const sendSummaries = (): void => {
  if (summaries.length === 0) return;
  post({ type: 'summaries', summaries });
  summaries = [];
};
const summaryTimer = setInterval(sendSummaries, 250);
summaryTimer.unref();

const log = connectEventLog(init.logPort, init.logKind);
const invoker = createInvoker({
  functions: lookup,
  config: init.sandbox,
  hostFunctions: relayedHostFunctions(init.hostPort, init.hostFunctions),
  logger: logger.child({ module: 'invoker' }),
  onRecord: summarize,
});
const pipeline = createPipeline({
  log,
  invoker,
  functions: definitions,
  config: init.pipeline,
  topicPrefix: init.topicPrefix,
  logger: logger.child({ module: 'pipeline' }),
  instanceId: init.instanceId,
  drainTimeoutMs: init.drainTimeoutMs,
  seedRecent: false,
  ...(init.maxBatch === undefined ? {} : { maxBatch: init.maxBatch }),
  ...(init.metricsIntervalMs === undefined ? {} : { metricsIntervalMs: init.metricsIntervalMs }),
});
void pipeline.failed.then((error) => post({ type: 'failed', name: error.name, message: error.message }));

const fail = (error: unknown): void => {
  const known = error instanceof Error ? error : new Error(String(error));
  post({ type: 'failed', name: known.name, message: known.message });
};

port.on('message', (message: ToStreamThread) => {
  switch (message.type) {
    case 'start':
      invoker
        .ready()
        .then(() => pipeline.start())
        .then(() => post({ type: 'started', text: pipeline.describeText() }), fail);
      return;
    case 'functions':
      definitions.next(message.functions);
      return;
    case 'module': {
      const asked = modulesAsked.get(message.id);
      modulesAsked.delete(message.id);
      if (message.bytes !== undefined) asked?.resolve(message.bytes);
      else asked?.reject(new Error(message.error ?? 'the module could not be read'));
      return;
    }
    case 'describe':
      pipeline.describe().then((description) => post({ type: 'described', id: message.id, description, samples: pipeline.stageSamples() }), fail);
      return;
    case 'recent':
      post({ type: 'recent', id: message.id, records: pipeline.recentInvocations(message.name, message.limit) });
      return;
    case 'stop':
      void stop();
      return;
  }
});

async function stop(): Promise<void> {
  try {
    await pipeline.stop();
  } catch (error) {
    logger.warn({ err: error }, 'stream thread: stopping the pipeline failed');
  }
  sendSummaries();
  await invoker.close().catch((error: unknown) => logger.warn({ err: error }, 'stream thread: closing the sandbox pool failed'));
  await log.close().catch(() => undefined);
  post({ type: 'stopped' });
}
