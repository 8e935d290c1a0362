import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import type { LogRecord } from '../eventlog/index.js';
import { FunctionError } from '../errors/index.js';
import type { FunctionDefinition } from './function-definition.js';
import { createModuleStore, sha256Hex, type ModuleStore } from './module-store.js';
import { foldAt, historyEntry, registryAt, registryHistory, registryReadBatch, type HistoryEntry, type RegistryRecord } from './point-in-time.js';
import { decodeRegistryEvent, encodeRegistryEvent, type RegistryEvent } from './registry-events.js';
import {
  applyInPlace,
  buildTriggerIndex,
  createDraft,
  getFunction,
  getFunctionById,
  getFunctionVersion,
  listFunctions,
  type ApplyOutcome,
  type DraftState,
  type RegistryTriggerIndex,
} from './registry-state.js';
import type { CommandCaller, ModuleValidator, Registry, RegistryChange, RegistryOptions, VersionGuard } from './registry-types.js';
import { stateHash } from './state-hash.js';
import { validateDeployInput, validateExpectedVersion, validateFunctionName } from './validate-deploy.js';

export const registryTopicName = 'aerofn.registry';
export const modulesTopicName = 'aerofn.modules';
export const defaultMaxModuleBytes = 32 * 1024 * 1024;

// tsconfig's lib has no DOM, where the WebAssembly namespace is declared.
const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

const defaultValidator: ModuleValidator = (bytes) => {
  if (!wasmApi.validate(bytes)) throw new FunctionError('InvalidWasm', 'the module is not valid WebAssembly; build it again with your compiler (e.g. asc) and redeploy');
};

const recentOutcomesKept = 10_000;

export function createRegistry(options: RegistryOptions): Registry {
  const { log, defaults, logger } = options;
  const prefix = options.topicPrefix ?? '';
  const topic = `${prefix}${registryTopicName}`;
  const modules: ModuleStore = createModuleStore({ log, topic: `${prefix}${modulesTopicName}`, ...(options.moduleCacheBytes === undefined ? {} : { cacheBytes: options.moduleCacheBytes }) });
  const validateModule = options.validateModule ?? defaultValidator;
  const maxModuleBytes = options.maxModuleBytes ?? defaultMaxModuleBytes;
  const tailWaitMs = options.tailWaitMs ?? 250;
  const idlePollMs = options.pollIntervalMs ?? 50;
  const commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
  const now = options.now ?? Date.now;

  const draft: DraftState = createDraft();
  let next = 0; // next offset to fold
  let ready = false;
  let closed = false;
  let started: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let hashCache: string | undefined;
  let indexCache: RegistryTriggerIndex | undefined;
  const recentOutcomes = new Map<number, ApplyOutcome>();
  // Every folded record with the fold's verdict, for at() and history() without reading the log
  // again (on Kafka a second reader of the same partition in one client would also move the
  // tail's cursor). The raw bytes, not the decoded events: a few large buffers cost the
  // collector far less than 100,000 object graphs, and point-in-time reads are rare.
  const foldedLog: Array<{ offset: number; timestamp: number; value: Buffer | null; outcome: ApplyOutcome }> = [];
  const foldedByName = new Map<string, number[]>(); // name → indexes into foldedLog
  function* foldedRecords(): Generator<RegistryRecord> {
    for (const record of foldedLog) yield { offset: record.offset, timestamp: record.timestamp, event: decodeRegistryEvent(record.value) };
  }
  function foldedHistory(name: string | undefined): HistoryEntry[] {
    const indexes = name === undefined ? foldedLog.keys() : (foldedByName.get(name) ?? []);
    const out: HistoryEntry[] = [];
    for (const index of indexes) {
      const record = foldedLog[index];
      const event = record === undefined ? undefined : decodeRegistryEvent(record.value);
      if (record !== undefined && event !== undefined) out.push(historyEntry(record.offset, record.timestamp, event, record.outcome));
    }
    return out;
  }
  const waiters = new Set<{ offset: number; resolve: () => void; reject: (error: Error) => void }>();
  const listeners = new Set<(change: RegistryChange) => void>();
  const changes = new Subject<RegistryChange>();
  const nameLocks = new Map<string, Promise<unknown>>();
  let wake: (() => void) | undefined;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((resolve) => (readyResolve = resolve));

  function fold(record: LogRecord): void {
    const event = decodeRegistryEvent(record.value);
    const outcome = applyInPlace(draft, event);
    foldedLog.push({ offset: record.offset, timestamp: record.timestamp, value: record.value, outcome });
    if (event !== undefined) {
      const indexes = foldedByName.get(event.name);
      if (indexes === undefined) foldedByName.set(event.name, [foldedLog.length - 1]);
      else indexes.push(foldedLog.length - 1);
    }
    next = record.offset + 1;
    if (!outcome.accepted) {
      logger.debug({ offset: record.offset, name: event?.name, reason: outcome.reason }, 'registry event rejected by the fold');
    } else {
      hashCache = undefined;
      indexCache = undefined;
    }
    if (!ready) return; // nobody waits on the replay of history; listeners start after ready
    recentOutcomes.set(record.offset, outcome);
    if (recentOutcomes.size > recentOutcomesKept) recentOutcomes.delete(recentOutcomes.keys().next().value as number);
    const change: RegistryChange = { offset: record.offset, event, outcome, current: event === undefined ? undefined : getFunction(draft, event.name) };
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        logger.error({ err: error }, 'a registry change listener threw; the registry carries on');
      }
    }
    changes.next(change);
  }

  function settleWaiters(): void {
    for (const waiter of waiters) {
      if (next > waiter.offset) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves once the event at `offset` is folded. */
  function folded(offset: number): Promise<void> {
    if (next > offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { offset, resolve, reject };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new FunctionError('Unavailable', `the registry did not read back offset ${offset} of ${topic} within ${commandTimeoutMs} ms; check the event log and retry`));
      }, commandTimeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      waiter.reject = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      waiters.add(waiter);
      wake?.();
    });
  }

  async function readOnce(maxWaitMs = 0): Promise<number> {
    const batch = await log.read(topic, 0, next, { maxRecords: registryReadBatch, maxWaitMs });
    for (const record of batch) if (record.offset >= next) fold(record);
    if (batch.length > 0) settleWaiters();
    return batch.length;
  }

  /** Follows the log with long polls (a new record ends the wait at once); sleeps only after a failure or on a log that cannot wait. */
  async function tail(): Promise<void> {
    let failures = 0;
    while (!closed) {
      let count = 0;
      const began = performance.now();
      try {
        count = await readOnce(tailWaitMs);
        failures = 0;
      } catch (error) {
        if (closed) break;
        failures += 1;
        logger.warn({ err: error, topic, offset: next }, 'reading the registry failed; retrying');
      }
      if (count > 0 || closed) continue;
      const waited = performance.now() - began;
      if (failures === 0 && waited >= tailWaitMs / 2) continue;
      const delay = failures === 0 ? idlePollMs : Math.min(5_000, idlePollMs * 2 ** failures);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  }

  async function startOnce(): Promise<void> {
    await log.ensureTopic({ name: topic, partitions: 1, compacted: false });
    await modules.ensureTopic();
    const [start = 0] = await log.startOffsets(topic);
    const [end = 0] = await log.endOffsets(topic);
    next = start;
    const began = performance.now();
    while (next < end && !closed) {
      if ((await readOnce()) === 0) break;
    }
    ready = true;
    readyResolve();
    logger.info({ topic, events: draft.eventCount, functions: listFunctions(draft).length, ms: Math.round(performance.now() - began) }, 'registry replayed; serving');
    loop = tail();
  }

  async function sync(): Promise<void> {
    const [end = 0] = await log.endOffsets(topic);
    if (end > 0) await folded(end - 1);
  }

  function requireReady(): void {
    if (closed) throw new FunctionError('Unavailable', 'the registry is closed');
    if (!ready) throw new FunctionError('Unavailable', 'the registry is still replaying its log; retry when /readyz answers 200');
  }

  /** Commands on one name from this instance run one after another, so they do not conflict with each other. */
  function serialized<T>(name: string, body: () => Promise<T>): Promise<T> {
    const previous = nameLocks.get(name) ?? Promise.resolve();
    const run = previous.then(body, body);
    const tailOfChain = run.catch(() => undefined);
    nameLocks.set(name, tailOfChain);
    void tailOfChain.then(() => {
      if (nameLocks.get(name) === tailOfChain) nameLocks.delete(name);
    });
    return run;
  }

  function latestVersion(name: string): number {
    return draft.functions.get(name)?.latestVersion ?? 0;
  }

  function checkExpected(name: string, expected: number | undefined): number {
    const latest = latestVersion(name);
    if (expected !== undefined && expected !== latest) {
      throw new FunctionError('Conflict', `function "${name}" is at version ${latest}, not ${expected}; read it again and retry with expectedVersion ${latest}`, {
        details: { name, latestVersion: latest, expectedVersion: expected },
      });
    }
    return latest;
  }

  /** Appends the event, waits until this instance folded it, and turns a lost race into Conflict. */
  async function commit(event: RegistryEvent): Promise<void> {
    const [result] = await log.append(topic, [{ key: event.name, value: encodeRegistryEvent(event), partition: 0, headers: { type: event.type } }]);
    if (result === undefined) throw new FunctionError('Unavailable', `the event log did not acknowledge the append to ${topic}; retry`);
    await folded(result.offset);
    const outcome = recentOutcomes.get(result.offset);
    if (outcome !== undefined && !outcome.accepted) {
      const latest = latestVersion(event.name);
      throw new FunctionError('Conflict', `another deploy of "${event.name}" won the race (now at version ${latest}); read it again and retry`, {
        details: { name: event.name, latestVersion: latest, expectedVersion: event.expectedVersion, reason: outcome.reason },
      });
    }
  }

  const base = (name: string, expectedVersion: number, caller: CommandCaller | undefined) => ({
    id: randomUUID(),
    name,
    expectedVersion,
    at: new Date(now()).toISOString(),
    subject: caller?.subject ?? null,
  });

  function serving(name: string): FunctionDefinition {
    const current = getFunction(draft, name);
    if (current === undefined) throw new FunctionError('NotFound', `no function named "${name}" is deployed; list them with GET /functions/v1`);
    return current;
  }

  async function toggle(name: string, type: 'FunctionEnabled' | 'FunctionDisabled', guard: VersionGuard | undefined, caller: CommandCaller | undefined): Promise<FunctionDefinition> {
    requireReady();
    validateFunctionName(name);
    const expected = validateExpectedVersion(guard?.expectedVersion);
    return serialized(name, async () => {
      await sync();
      const current = serving(name);
      const latest = checkExpected(name, expected);
      if (current.enabled === (type === 'FunctionEnabled')) return current; // already so: nothing to record
      await commit({ ...base(name, latest, caller), type });
      return serving(name);
    });
  }

  const registry: Registry = {
    topics: { registry: topic, modules: modules.topic },
    get ready() {
      return ready;
    },
    whenReady: () => readyPromise,
    start() {
      started ??= startOnce();
      return started;
    },
    async close() {
      closed = true;
      wake?.();
      for (const waiter of waiters) waiter.reject(new FunctionError('Unavailable', 'the registry closed before the event was read back'));
      waiters.clear();
      await loop?.catch(() => undefined);
      changes.complete();
    },

    async deploy(input, caller) {
      requireReady();
      const wasm = (input as { wasm?: unknown } | null)?.wasm;
      if (wasm instanceof Uint8Array && wasm.byteLength > maxModuleBytes) {
        throw new FunctionError('PayloadTooLarge', `the module has ${wasm.byteLength} bytes; the limit is ${maxModuleBytes} (${maxModuleBytes / 1024 / 1024} MiB)`);
      }
      const command = validateDeployInput(input, defaults);
      const { timeoutMs, memoryMb, stackKb } = command.config;
      await validateModule(command.wasm, { timeoutMs, memoryMb, stackKb });
      const sha256 = sha256Hex(command.wasm);
      return serialized(command.name, async () => {
        await sync();
        const latest = checkExpected(command.name, command.expectedVersion);
        // The bytes go first: an event must never name a module the log does not hold.
        const module = draft.modules.get(sha256) ?? (await modules.write(sha256, command.wasm));
        modules.remember(sha256, command.wasm);
        const version = latest + 1;
        await commit({
          ...base(command.name, latest, caller),
          type: 'FunctionDeployed',
          version,
          sha256,
          module,
          config: command.config,
          triggers: command.triggers,
          enabled: command.enabled,
        });
        const deployed = getFunctionVersion(draft, command.name, version);
        if (deployed === undefined) throw new FunctionError('Conflict', `"${command.name}" version ${version} was not folded; read it again and retry`);
        return deployed;
      });
    },

    async undeploy(name, guard, caller) {
      requireReady();
      validateFunctionName(name);
      const expected = validateExpectedVersion(guard?.expectedVersion);
      return serialized(name, async () => {
        await sync();
        const current = serving(name);
        const latest = checkExpected(name, expected);
        await commit({ ...base(name, latest, caller), type: 'FunctionUndeployed' });
        return current;
      });
    },
    enable: (name, guard, caller) => toggle(name, 'FunctionEnabled', guard, caller),
    disable: (name, guard, caller) => toggle(name, 'FunctionDisabled', guard, caller),

    getFunction: (name) => getFunction(draft, name),
    getFunctionVersion: (name, version) => getFunctionVersion(draft, name, version),
    getFunctionById: (id) => getFunctionById(draft, id),
    listFunctions: () => listFunctions(draft),
    triggerIndex() {
      indexCache ??= buildTriggerIndex(draft);
      return indexCache;
    },
    getModule(sha256) {
      const ref = draft.modules.get(sha256);
      // No accepted deploy names these bytes: do not scan the whole modules topic for them.
      if (ref === undefined && !modules.has(sha256)) {
        return Promise.reject(new FunctionError('NotFound', `no deployed function uses module ${sha256}; deploy it first`));
      }
      return modules.read(sha256, ref);
    },

    state: () => draft,
    stateHash() {
      hashCache ??= stateHash(draft);
      return hashCache;
    },
    position: () => next,
    sync,
    async at(point) {
      if (!ready) return registryAt(log, topic, point);
      await sync();
      return foldAt(foldedRecords(), point);
    },
    async history(name) {
      if (!ready) return registryHistory(log, topic, name);
      await sync();
      return foldedHistory(name);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changes$: changes.asObservable(),
  };
  return registry;
}
