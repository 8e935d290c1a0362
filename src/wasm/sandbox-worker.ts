import { readlinkSync } from 'node:fs';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
// eslint-disable-next-line no-restricted-imports -- the worker bundle cannot load db/index.ts (PGlite); this file imports nothing (worker-source.ts)
import { GuestDatabaseClient } from '../db/pglite/thread-channel.js';
import { classifyFailure } from './classify-failure.js';
import { isErrorAnswer, ReplyWaiter } from './host-reply-wait.js';
import { ModuleInstances } from './module-instances.js';
import {
  channelViews,
  HostReply,
  hostCallNames,
  Job,
  JOB_F64S,
  JOB_INTS,
  JobF64,
  JobState,
  LEN_IN_PORT,
  LEN_NULL,
  QUEUE_DEPTH,
  SANDBOX_MEMORY_IMPORT,
  Slot,
  SLOT_DATA_BYTES,
  Status,
  type FromWorkerMessage,
  type HostCallName,
  type ToWorkerMessage,
  type WorkerInit,
  type WorkerJournalEntry,
  writeWorkerResult,
} from './sandbox-protocol.js';

/**
 * One sandbox thread. It sleeps in Atomics.wait until the main thread posts a request, runs the
 * guest in a fresh instance, writes the result and sleeps again. It never returns to its event
 * loop while serving, so a guest cannot schedule anything; the main thread ends a runaway guest by
 * terminating the whole thread (V8 cannot interrupt a running wasm loop any other way).
 */
const init = workerData as WorkerInit;
const views = channelViews(init.channel);
const { ctrl, jobs, times, data, text: dataText } = views;
const port = init.port;
const available = new Set<HostCallName>(init.availableHostCalls);
const encoder = new TextEncoder();
const replyWaiter = new ReplyWaiter(ctrl, (init.hostSpinMicros ?? 0) / 1000);
const database = init.database === undefined ? undefined : new GuestDatabaseClient(init.database);
const dbQueryFn = hostCallNames.indexOf('db_query');
/** db_query's reply from the PGlite thread is waited for as any host call's (host-reply-wait.ts). */
const awaitDatabase = (cells: Int32Array, index: number, last: number, posted: number): void => replyWaiter.await(dbQueryFn, last, posted, cells, index);

interface LoadedModule {
  readonly maxBytes: number;
  readonly instances: ModuleInstances;
}

/** The module whose instance the running job uses: released (reset or recycled) once its result is out. */
let inUse: { readonly instances: ModuleInstances; clean: boolean } | undefined;

function recycle(): void {
  const used = inUse;
  inUse = undefined;
  used?.instances.release(used.clean);
}
const modules = new Map<number, LoadedModule>();
let consumedMessages = 0;
const portInputs = new Map<number, Uint8Array>();
let portReply: Uint8Array | string | undefined;

/** The invocation being served; the imports close over it. */
interface Current {
  /** The job slot being served: its data region carries host calls too. */
  slot: number;
  memory: WebAssembly.Memory | undefined;
  alloc: ((size: number) => number) | undefined;
  context: Uint8Array | undefined;
  /** "role\nclaims JSON" for db_query on the PGlite thread (undefined: through the main thread). */
  session: string | undefined;
  triggerDepth: number;
  deadline: number;
  journal: WorkerJournalEntry[];
  seq: number;
  logsKept: number;
  logsDropped: number;
  abortMessage: string | undefined;
  hostFailure: string | undefined;
}
let current: Current = newCurrent(0);

function newCurrent(slot: number): Current {
  return { slot, memory: undefined, alloc: undefined, context: undefined, session: undefined, triggerDepth: 0, deadline: 0, journal: [], seq: 0, logsKept: 0, logsDropped: 0, abortMessage: undefined, hostFailure: undefined };
}

function drainPort(): void {
  const upTo = Atomics.load(ctrl, Slot.PORT_POSTED);
  while (consumedMessages < upTo) {
    const received = receiveMessageOnPort(port);
    if (received === undefined) throw new Error('sandbox channel out of step: a port message is missing');
    consumedMessages++;
    const message = received.message as ToWorkerMessage;
    if (message.type === 'module') modules.set(message.id, { maxBytes: message.maxBytes, instances: new ModuleInstances(message.module, message.importedMemory, message.reset) });
    else if (message.type === 'forget') modules.delete(message.id);
    else if (message.type === 'input') portInputs.set(message.index, message.input);
    else portReply = message.data;
  }
}

function memoryOf(): WebAssembly.Memory {
  if (current.memory === undefined) throw new Error('a host function was called before the instance was ready (from a start function?)');
  return current.memory;
}

function guestBytes(ptr: number, len: number, what: string): Uint8Array {
  const memory = memoryOf();
  const start = ptr >>> 0;
  const length = len >>> 0;
  if (start + length > memory.buffer.byteLength) {
    throw new Error(`${what} points outside the guest memory (${start}+${length} > ${memory.buffer.byteLength} bytes)`);
  }
  return new Uint8Array(memory.buffer, start, length);
}

function guestText(ptr: number, len: number, what: string, maxBytes = Infinity): string {
  const bytes = guestBytes(ptr, len, what);
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, maxBytes)).toString('utf8');
}

/** Copies bytes into guest memory through its own alloc and returns them packed as the ABI says. */
function toGuest(bytes: Uint8Array): bigint {
  if (current.alloc === undefined) throw new Error('the guest has no alloc export');
  const ptr = current.alloc(bytes.length) >>> 0;
  guestBytes(ptr, bytes.length, 'alloc').set(bytes);
  return (BigInt(ptr) << 32n) | BigInt(bytes.length);
}

function record(entry: WorkerJournalEntry): void {
  current.journal.push(entry);
}

/** Reads an AssemblyScript string: UTF-16LE, its byte length stored just before it. */
function asString(ptr: number): string {
  try {
    const memory = memoryOf();
    if (ptr < 4 || ptr > memory.buffer.byteLength) return '';
    const byteLength = new DataView(memory.buffer).getUint32(ptr - 4, true);
    const length = Math.min(byteLength, 2048, memory.buffer.byteLength - ptr) & ~1;
    return Buffer.from(memory.buffer, ptr, length).toString('utf16le');
  } catch {
    return '';
  }
}

function hostCall(name: HostCallName, ptr: number, len: number): bigint {
  const request = guestBytes(ptr, len, `the ${name} request`);
  const seq = ++current.seq;
  if (!available.has(name)) {
    const startedAt = Date.now();
    const answer = name === 'env' ? null : `{"error":{"message":"${name} is not available in this sandbox"}}`;
    record({ seq, fn: name, request: Buffer.from(request).toString('utf8'), response: answer, startedAt, durationMs: 0 });
    current.hostFailure = answer === null ? undefined : `${name} is not available in this sandbox`;
    return answer === null ? 0n : toGuest(encoder.encode(answer));
  }
  if (name === 'db_query' && database !== undefined && current.session !== undefined) return directDbQuery(request, seq);
  const base = current.slot * SLOT_DATA_BYTES;
  if (request.length <= SLOT_DATA_BYTES) {
    data.set(request, base);
    ctrl[Slot.HOST_LEN] = request.length;
  } else {
    port.postMessage({ type: 'hostcall', request: request.slice() } satisfies FromWorkerMessage);
    ctrl[Slot.HOST_LEN] = LEN_IN_PORT;
  }
  const fn = hostCallNames.indexOf(name);
  ctrl[Slot.HOST_SLOT] = current.slot;
  ctrl[Slot.HOST_FN] = fn;
  ctrl[Slot.HOST_SEQ] = seq;
  const lastReply = Atomics.load(ctrl, Slot.HOST_REPLY);
  // Before the notify: on a busy machine the woken main thread may take this core at once.
  const posted = performance.now();
  Atomics.store(ctrl, Slot.HOST_PENDING, 1);
  Atomics.add(ctrl, Slot.EVT, 1);
  Atomics.notify(ctrl, Slot.EVT);
  replyWaiter.await(fn, lastReply, posted);
  drainPort();

  const length = ctrl[Slot.HOST_LEN] as number;
  if (ctrl[Slot.HOST_STATUS] === HostReply.THREW) {
    current.hostFailure = `${name} failed: ${dataText.toString('utf8', base, base + Math.max(0, length))}`;
    throw new Error(current.hostFailure);
  }
  if (length === LEN_NULL) {
    current.hostFailure = undefined;
    return 0n;
  }
  let answer: Uint8Array;
  if (length === LEN_IN_PORT) {
    const reply = portReply ?? '';
    portReply = undefined;
    answer = typeof reply === 'string' ? encoder.encode(reply) : reply;
  } else {
    // A view, not a copy: toGuest copies it into the guest before the slot is written again.
    answer = data.subarray(base, base + length);
  }
  return answered(name, answer);
}

/** Hands a host call's answer to the guest. */
function answered(name: HostCallName, answer: Uint8Array): bigint {
  // A refusal ({"error":…}) is an answer the guest may handle; it only explains a trap that follows.
  current.hostFailure = isErrorAnswer(answer) ? `${name} answered ${Buffer.from(answer.subarray(0, 300)).toString('utf8')}` : undefined;
  return toGuest(answer);
}

/** A guest's db_query answered by the PGlite thread itself, journaled here as the main thread would. */
function directDbQuery(request: Uint8Array, seq: number): bigint {
  const startedAt = Date.now();
  const started = performance.now();
  const requestText = Buffer.from(request.buffer, request.byteOffset, request.length).toString('utf8');
  let answer: Uint8Array;
  try {
    answer = (database as GuestDatabaseClient).query(request, current.session as string, current.triggerDepth, current.deadline, awaitDatabase);
  } catch (error) {
    const message = (error as Error).message;
    record({ seq, fn: 'db_query', request: requestText, response: null, startedAt, durationMs: performance.now() - started, error: message });
    current.hostFailure = `db_query failed: ${message}`;
    throw new Error(current.hostFailure);
  }
  const durationMs = performance.now() - started;
  record({ seq, fn: 'db_query', request: requestText, response: Buffer.from(answer.buffer, answer.byteOffset, answer.length).toString('utf8'), startedAt, durationMs });
  return answered('db_query', answer);
}

const sandboxImports: { memory: WebAssembly.Memory | number } = { memory: 0 };
const imports: WebAssembly.Imports = {
  [SANDBOX_MEMORY_IMPORT.module]: sandboxImports as Record<string, WebAssembly.ImportValue>,
  aerodb: {
    log(level: number, ptr: number, len: number): void {
      if (current.logsKept >= init.maxLogMessages) {
        current.logsDropped++;
        return;
      }
      current.logsKept++;
      const message = guestText(ptr, len, 'the log message', init.maxLogMessageBytes);
      const seq = ++current.seq;
      // Logs travel in the journal; the invoker writes them to the logger when the invocation ends.
      record({ seq, fn: 'log', request: JSON.stringify({ level, message }), response: null, startedAt: Date.now(), durationMs: 0 });
    },
    context(): bigint {
      const seq = ++current.seq;
      const bytes = current.context ?? encoder.encode('null');
      record({ seq, fn: 'context', request: '', response: Buffer.from(bytes).toString('utf8'), startedAt: Date.now(), durationMs: 0 });
      return toGuest(bytes);
    },
    db_query: (ptr: number, len: number): bigint => hostCall('db_query', ptr, len),
    http_fetch: (ptr: number, len: number): bigint => hostCall('http_fetch', ptr, len),
    env: (ptr: number, len: number): bigint => hostCall('env', ptr, len),
  },
  env: {
    abort(message: number, file: number, line: number, column: number): void {
      current.abortMessage = `${asString(message) || 'abort'} at ${asString(file) || '?'}:${line}:${column}`;
      throw new Error(`abort: ${current.abortMessage}`);
    },
  },
};

class OutputError extends Error {}

function runOne(slot: number): void {
  drainPort();
  const at = slot * JOB_INTS;
  const timeAt = slot * JOB_F64S;
  const base = slot * SLOT_DATA_BYTES;
  current = newCurrent(slot);
  times[timeAt + JobF64.STARTED_AT] = Date.now();
  const started = performance.now();
  const moduleId = jobs[at + Job.MODULE_ID] as number;
  const loaded = modules.get(moduleId);
  const inputLength = jobs[at + Job.INPUT_LEN] as number;
  let input: Uint8Array;
  if (inputLength === LEN_IN_PORT) {
    const index = jobs[at + Job.INDEX] as number;
    input = portInputs.get(index) ?? new Uint8Array(0);
    portInputs.delete(index);
  } else {
    input = data.subarray(base, base + inputLength);
  }
  const contextLength = jobs[at + Job.CONTEXT_LEN] as number;
  if (contextLength >= 0) {
    const from = base + (inputLength === LEN_IN_PORT ? 0 : inputLength);
    current.context = data.slice(from, from + contextLength);
  }
  const sessionLength = jobs[at + Job.SESSION_LEN] as number;
  if (sessionLength >= 0) {
    const from = base + (inputLength === LEN_IN_PORT ? 0 : inputLength) + Math.max(0, contextLength);
    current.session = dataText.toString('utf8', from, from + sessionLength);
    current.triggerDepth = jobs[at + Job.TRIGGER_DEPTH] as number;
    current.deadline = (times[timeAt + JobF64.STARTED_AT] as number) + (jobs[at + Job.TIMEOUT_MS] as number);
  }

  let status: number = Status.OK;
  let text = '';
  let output: Uint8Array | undefined;
  try {
    if (loaded === undefined) throw new Error(`module ${moduleId} was never sent to this worker`);
    inUse = { instances: loaded.instances, clean: false };
    const instance = loaded.instances.take(imports, sandboxImports);
    const exports = instance.exports as { memory: WebAssembly.Memory; alloc: (size: number) => number; handler: (ptr: number, len: number) => bigint };
    current.memory = exports.memory;
    current.alloc = exports.alloc;
    const inPtr = exports.alloc(input.length) >>> 0;
    guestBytes(inPtr, input.length, 'the pointer alloc returned for the input').set(input);
    const packed = BigInt.asUintN(64, exports.handler(inPtr, input.length));
    if (packed === 0n) {
      output = encoder.encode('null');
    } else {
      const outPtr = Number(packed >> 32n);
      const outLen = Number(packed & 0xffffffffn);
      const size = exports.memory.buffer.byteLength;
      if (outPtr + outLen > size) {
        throw new OutputError(`the handler returned output at ${outPtr}+${outLen}, outside its ${size}-byte memory; return (ptr << 32) | len of UTF-8 JSON, or 0 for null`);
      }
      output = new Uint8Array(exports.memory.buffer, outPtr, outLen);
      try {
        JSON.parse(Buffer.from(exports.memory.buffer, outPtr, outLen).toString('utf8'));
      } catch (error) {
        throw new OutputError(`the handler's output is not JSON (${(error as Error).message}); return UTF-8 JSON text`);
      }
    }
    inUse.clean = true;
  } catch (error) {
    output = undefined;
    if (error instanceof OutputError) {
      status = Status.RuntimePanic;
      text = error.message;
    } else {
      const memoryBytes = current.memory?.buffer.byteLength ?? 0;
      const classified = classifyFailure({
        error,
        memoryBytes,
        capBytes: loaded?.maxBytes ?? 0,
        abortMessage: current.abortMessage,
        hostFailure: current.hostFailure,
      });
      status = Status[classified.kind];
      text = classified.message;
    }
  }

  const journal = current.journal.length === 0 ? '' : JSON.stringify(current.journal);
  const result = { status, body: output ?? encoder.encode(text), journal, durationMs: performance.now() - started, memoryBytes: current.memory?.buffer.byteLength ?? 0, logsDropped: current.logsDropped };
  writeWorkerResult(views, slot, result, (message) => port.postMessage(message));
  current = newCurrent(0);
}

function ownThreadId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

let consumed = 0;
ctrl[Slot.TID] = ownThreadId();
Atomics.store(ctrl, Slot.READY, 1);
Atomics.notify(ctrl, Slot.READY);
const spinMs = init.spinMicros / 1000;
for (;;) {
  while (consumed < Atomics.load(ctrl, Slot.REQ)) {
    const slot = consumed % QUEUE_DEPTH;
    const state = slot * JOB_INTS + Job.STATE;
    // The main thread may have taken a queued job back (to run it elsewhere): skip it then.
    if (Atomics.compareExchange(jobs, state, JobState.QUEUED, JobState.RUNNING) === JobState.QUEUED) {
      runOne(slot);
      Atomics.store(jobs, state, JobState.DONE);
    } else if (jobs[slot * JOB_INTS + Job.INPUT_LEN] === LEN_IN_PORT) {
      drainPort();
      portInputs.delete(jobs[slot * JOB_INTS + Job.INDEX] as number);
    }
    consumed++;
    Atomics.store(ctrl, Slot.CONSUMED, consumed);
    Atomics.add(ctrl, Slot.EVT, 1);
    Atomics.notify(ctrl, Slot.EVT);
    recycle();
  }
  // Under load the next request usually follows the last result within microseconds: a short
  // spin catches it without a futex sleep and wake-up, which costs more than the spin.
  if (spinMs > 0) {
    const until = performance.now() + spinMs;
    while (Atomics.load(ctrl, Slot.REQ) === consumed && performance.now() < until);
  }
  // Say we sleep before the last look at REQ (both sequentially consistent): a request stored
  // after this store sees SLEEPING and notifies; one stored before it is seen by the wait.
  Atomics.store(ctrl, Slot.SLEEPING, 1);
  Atomics.wait(ctrl, Slot.REQ, consumed);
  Atomics.store(ctrl, Slot.SLEEPING, 0);
}
