import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog, type EventLog, type Subscription } from '../../../src/eventlog/index.js';
import type { AeroConfig } from '../../../src/config/index.js';
import type { InvocationRecord, InvokeRequest, Invoker } from '../../../src/invoker/index.js';
import { errorTable, type FunctionErrorKind } from '../../../src/errors/index.js';
import { silentLogger } from '../../../src/observability/index.js';

export async function openTempLog(): Promise<{ log: EventLog; cleanup: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-pipeline-'));
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  return {
    log,
    cleanup: async () => {
      await log.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function pipelineConfig(overrides: Partial<AeroConfig['pipeline']> = {}): AeroConfig['pipeline'] {
  return {
    mode: 'at_least_once',
    changeTopics: ['aerodb.changes'],
    groupId: 'aerofn-pipeline',
    startFrom: 'committed',
    concurrency: 8,
    highWatermark: 1000,
    lowWatermark: 250,
    highWatermarkBytes: 64 * 1024 * 1024,
    lingerMs: 5,
    maxTriggerDepth: 8,
    threads: 1,
    ...overrides,
  };
}

/** The same log, but every subscription reports its pause() and resume() calls to `onCall` first. */
export function observeSubscriptions(log: EventLog, onCall: (what: 'pause' | 'resume') => void): EventLog {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property !== 'subscribe') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<EventLog['subscribe']>): Promise<Subscription> => {
        const subscription = await target.subscribe(...args);
        return {
          pause: () => (onCall('pause'), subscription.pause()),
          resume: () => (onCall('resume'), subscription.resume()),
          assignments: () => subscription.assignments(),
          close: () => subscription.close(),
        };
      };
    },
  });
}

export async function readValues<T>(log: EventLog, topic: string): Promise<T[]> {
  const out: T[] = [];
  const ends = await log.endOffsets(topic);
  for (const [partition, end] of ends.entries()) {
    for (let offset = 0; offset < end; ) {
      const records = await log.read(topic, partition, offset, { maxRecords: 5000 });
      if (records.length === 0) break;
      for (const record of records) if (record.value !== null) out.push(JSON.parse(record.value.toString('utf8')) as T);
      offset = (records[records.length - 1]?.offset ?? offset) + 1;
    }
  }
  return out;
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export type Behaviour = (request: InvokeRequest) => Promise<{ output?: string; error?: FunctionErrorKind }> | { output?: string; error?: FunctionErrorKind };

/**
 * An Invoker whose functions are JavaScript callbacks: it exercises the pipeline's side of the
 * Invoker contract (records, errors, ids) without the sandbox, which has its own tests.
 */
export function scriptedInvoker(behaviours: Record<string, Behaviour>): Invoker & { calls: InvokeRequest[]; maxActive: number } {
  let active = 0;
  const invoker = {
    calls: [] as InvokeRequest[],
    maxActive: 0,
    async invoke(request: InvokeRequest): Promise<InvocationRecord> {
      invoker.calls.push(request);
      active += 1;
      invoker.maxActive = Math.max(invoker.maxActive, active);
      const started = Date.now();
      try {
        const behaviour = behaviours[request.functionName];
        if (behaviour === undefined) throw Object.assign(new Error(`no function ${request.functionName}`), { kind: 'NotFound' });
        const result = await behaviour(request);
        const id = request.invocationId ?? 'random';
        return {
          id, function: request.functionName, version: request.version ?? 1, sha256: '0'.repeat(64), trigger: request.trigger,
          source: request.source ?? null, input: request.payload,
          context: { invocationId: id, function: request.functionName, version: request.version ?? 1, trigger: request.trigger, role: request.rls.role, sub: request.rls.sub, claims: request.rls.claims, attempt: request.attempt ?? 1, now: started },
          journal: [],
          outcome: result.error === undefined ? { ok: true, output: result.output ?? 'null' } : { ok: false, error: { kind: result.error, code: errorTable[result.error].code, httpStatus: errorTable[result.error].http, message: `scripted ${result.error}` } },
          attempt: request.attempt ?? 1, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, memoryBytes: 0,
        };
      } finally {
        active -= 1;
      }
    },
    async close() {},
  };
  return invoker;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
