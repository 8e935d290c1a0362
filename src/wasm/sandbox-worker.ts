import { readlinkSync } from 'node:fs';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { classifyFailure } from './classify-failure.js';
import {
  DATA_BYTES,
  DATA_OFFSET,
  EventKind,
  F64,
  F64_OFFSET,
  F64_SLOTS,
  HostReply,
  hostCallNames,
  INT_SLOTS,
  LEN_IN_PORT,
  LEN_NULL,
  Slot,
  Status,
  type FromWorkerMessage,
  type HostCallName,
  type ToWorkerMessage,
  type WorkerInit,
  type WorkerJournalEntry,
} from './sandbox-protocol.js';

/**
 * One sandbox thread. It sleeps in Atomics.wait until the main thread posts a request, runs the
 * guest in a fresh instance, writes the result and sleeps again. It never returns to its event
 * loop while serving, so a guest cannot schedule anything; the main thread ends a runaway guest by
 * terminating the whole thread (V8 cannot interrupt a running wasm loop any other way).
 */
const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.channel, 0, INT_SLOTS);
const f64 = new Float64Array(init.channel, F64_OFFSET, F64_SLOTS);
const data = new Uint8Array(init.channel, DATA_OFFSET, DATA_BYTES);
const dataText = Buffer.from(init.channel, DATA_OFFSET, DATA_BYTES);
const port = init.port;
const available = new Set<HostCallName>(init.availableHostCalls);
const encoder = new TextEncoder();

interface LoadedModule {
  readonly module: WebAssembly.Module;
  readonly maxBytes: number;
}
const modules = new Map<number, LoadedModule>();
let consumedMessages = 0;
let portInput: Uint8Array | undefined;
let portReply: Uint8Array | string | undefined;

/** The invocation being served; the imports close over it. */
interface Current {
  job: number;
  memory: WebAssembly.Memory | undefined;
  alloc: ((size: number) => number) | undefined;
  context: Uint8Array | undefined;
  journal: WorkerJournalEntry[];
  seq: number;
  logsKept: number;
  logsDropped: number;
  abortMessage: string | undefined;
  hostFailure: string | undefined;
}
let current: Current = newCurrent(0);

function newCurrent(job: number): Current {
  return { job, memory: undefined, alloc: undefined, context: undefined, journal: [], seq: 0, logsKept: 0, logsDropped: 0, abortMessage: undefined, hostFailure: undefined };
}

function drainPort(upTo: number): void {
  while (consumedMessages < upTo) {
    const received = receiveMessageOnPort(port);
    if (received === undefined) throw new Error('sandbox channel out of step: a port message is missing');
    consumedMessages++;
    const message = received.message as ToWorkerMessage;
    if (message.type === 'module') modules.set(message.id, { module: message.module, maxBytes: message.maxBytes });
    else if (message.type === 'forget') modules.delete(message.id);
    else if (message.type === 'input') portInput = message.input;
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
  if (request.length <= DATA_BYTES) {
    data.set(request);
    ctrl[Slot.DATA_LEN] = request.length;
  } else {
    port.postMessage({ type: 'hostcall', request: request.slice() } satisfies FromWorkerMessage);
    ctrl[Slot.DATA_LEN] = LEN_IN_PORT;
  }
  ctrl[Slot.HOST_FN] = hostCallNames.indexOf(name);
  ctrl[Slot.HOST_SEQ] = seq;
  ctrl[Slot.EVT_KIND] = EventKind.HOST_CALL;
  const lastReply = Atomics.load(ctrl, Slot.HOST_REPLY);
  Atomics.add(ctrl, Slot.EVT, 1);
  Atomics.notify(ctrl, Slot.EVT);
  Atomics.wait(ctrl, Slot.HOST_REPLY, lastReply);
  drainPort(Atomics.load(ctrl, Slot.PORT_MESSAGES));

  const length = ctrl[Slot.DATA_LEN] as number;
  if (ctrl[Slot.STATUS] === HostReply.THREW) {
    current.hostFailure = `${name} failed: ${dataText.toString('utf8', 0, Math.max(0, length))}`;
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
    answer = data.slice(0, length);
  }
  // A refusal ({"error":…}) is an answer the guest may handle; it only explains a trap that follows.
  current.hostFailure = isErrorAnswer(answer) ? `${name} answered ${Buffer.from(answer.subarray(0, 300)).toString('utf8')}` : undefined;
  return toGuest(answer);
}

function isErrorAnswer(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x7b && Buffer.from(bytes.subarray(i, i + 9)).toString('latin1').replace(/\s/g, '').startsWith('{"error"');
}

const imports: WebAssembly.Imports = {
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

function runOne(): void {
  drainPort(Atomics.load(ctrl, Slot.PORT_MESSAGES));
  const job = ctrl[Slot.JOB] as number;
  current = newCurrent(job);
  f64[F64.STARTED_AT] = Date.now();
  const started = performance.now();
  const loaded = modules.get(ctrl[Slot.MODULE_ID] as number);
  const inputLength = ctrl[Slot.INPUT_LEN] as number;
  let input: Uint8Array;
  if (inputLength === LEN_IN_PORT) {
    input = portInput ?? new Uint8Array(0);
    portInput = undefined;
  } else {
    input = data.subarray(0, inputLength);
  }
  const contextLength = ctrl[Slot.CONTEXT_LEN] as number;
  if (contextLength >= 0) {
    const at = inputLength === LEN_IN_PORT ? 0 : inputLength;
    current.context = data.slice(at, at + contextLength);
  }

  let status: number = Status.OK;
  let text = '';
  let output: Uint8Array | undefined;
  try {
    if (loaded === undefined) throw new Error(`module ${ctrl[Slot.MODULE_ID]} was never sent to this worker`);
    const instance = new WebAssembly.Instance(loaded.module, imports);
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

  f64[F64.DURATION_MS] = performance.now() - started;
  f64[F64.MEMORY_BYTES] = current.memory?.buffer.byteLength ?? 0;
  ctrl[Slot.STATUS] = status;
  ctrl[Slot.LOGS_DROPPED] = current.logsDropped;
  const journal = current.journal.length === 0 ? '' : JSON.stringify(current.journal);
  const body = output ?? encoder.encode(text);
  const journalBytes = journal === '' ? 0 : Buffer.byteLength(journal);
  if (body.length + journalBytes <= DATA_BYTES) {
    data.set(body);
    ctrl[Slot.DATA_LEN] = body.length;
    ctrl[Slot.JOURNAL_LEN] = journalBytes;
    if (journalBytes > 0) dataText.write(journal, body.length, 'utf8');
  } else {
    port.postMessage({ type: 'result', output: body.slice(), journal } satisfies FromWorkerMessage);
    ctrl[Slot.DATA_LEN] = LEN_IN_PORT;
    ctrl[Slot.JOURNAL_LEN] = 0;
  }
  current = newCurrent(0);
  ctrl[Slot.EVT_KIND] = EventKind.DONE;
  Atomics.add(ctrl, Slot.EVT, 1);
  Atomics.notify(ctrl, Slot.EVT);
}

function ownThreadId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

let lastRequest = 0;
ctrl[Slot.TID] = ownThreadId();
Atomics.store(ctrl, Slot.READY, 1);
Atomics.notify(ctrl, Slot.READY);
const spinMs = init.spinMicros / 1000;
for (;;) {
  // Under load the next request usually follows the last result within microseconds: a short
  // spin catches it without a futex sleep and wake-up, which costs more than the spin.
  if (spinMs > 0 && Atomics.load(ctrl, Slot.REQ) === lastRequest) {
    const until = performance.now() + spinMs;
    while (Atomics.load(ctrl, Slot.REQ) === lastRequest && performance.now() < until);
  }
  Atomics.wait(ctrl, Slot.REQ, lastRequest);
  lastRequest = Atomics.load(ctrl, Slot.REQ);
  runOne();
}
