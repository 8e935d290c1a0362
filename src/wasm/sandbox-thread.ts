import { setPriority } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { HostCallContext, HostCallRecord, HostFunctions } from './host-function.js';
import { redactJournalEntry } from './host/redact.js';
import {
  CHANNEL_BYTES,
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
  statusNames,
  type FromWorkerMessage,
  type HostCallName,
  type ToWorkerMessage,
  type WorkerInit,
  type WorkerJournalEntry,
} from './sandbox-protocol.js';
import type { CompiledModule, SandboxJob, SandboxResult } from './sandbox-types.js';
import { sandboxWorkerUrl } from './worker-source.js';

const encoder = new TextEncoder();

export interface ThreadOptions {
  readonly stackKb: number;
  readonly maxLogMessages: number;
  readonly maxLogMessageBytes: number;
  readonly spinMicros?: number;
  readonly hostFunctions: HostFunctions;
  /** Called once when the thread finished a job and can take another. */
  readonly onIdle: (thread: SandboxThread) => void;
  /**
   * Called once when the thread is gone (timeout, crash, close); `requeue` holds a job it never
   * started; `diedAtStart` says the worker died on its own before it ever ran a guest.
   */
  readonly onGone: (thread: SandboxThread, requeue: Pending | undefined, diedAtStart: boolean) => void;
}

export interface Pending {
  readonly job: SandboxJob;
  readonly resolve: (result: SandboxResult) => void;
  /** How often a worker died before starting this job (a second time fails it: no crash loop). */
  requeued?: number;
}

interface Running extends Pending {
  readonly number: number;
  readonly dispatchedAt: number;
  timer: NodeJS.Timeout | undefined;
  controller: AbortController | undefined;
  hostContext: HostCallContext | undefined;
  hostJournal: HostCallRecord[] | undefined;
}

let jobCounter = 0;

export const THREAD_STACK_OVERHEAD_KB = 256;

/**
 * A guest still running after this long gets a lower CPU priority (nice 10) until it ends, so a
 * busy loop cannot starve the main thread (whose timers enforce the timeouts) or short calls.
 */
export const SLOW_JOB_MS = 10;
const LOWERED_NICE = 10;

/** The main thread's end of one sandbox worker and its shared-memory channel. */
export class SandboxThread {
  readonly worker: Worker;
  readonly stackKb: number;
  private readonly ctrl: Int32Array;
  private readonly f64: Float64Array;
  private readonly data: Uint8Array;
  private readonly text: Buffer;
  private readonly port: MessagePort;
  private readonly sent = new Set<number>();
  private posted = 0;
  private lastEvent = 0;
  private running: Running | undefined;
  private gone = false;
  /** Whether the worker ever started a guest (one that dies before that may be unable to start at all). */
  private ranGuest = false;
  private lowered = false;
  /** Resolves once the worker's code is loaded and it waits for requests (never, if it dies first). */
  readonly ready: Promise<void>;
  private readonly listener = (): void => this.onEvent();

  constructor(private readonly options: ThreadOptions) {
    this.stackKb = options.stackKb;
    const channel = new SharedArrayBuffer(CHANNEL_BYTES);
    this.ctrl = new Int32Array(channel, 0, INT_SLOTS);
    this.f64 = new Float64Array(channel, F64_OFFSET, F64_SLOTS);
    this.data = new Uint8Array(channel, DATA_OFFSET, DATA_BYTES);
    this.text = Buffer.from(channel, DATA_OFFSET, DATA_BYTES);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const availableHostCalls = hostCallNames.filter((name) => options.hostFunctions[name] !== undefined);
    const init: WorkerInit = {
      channel,
      port: port2,
      maxLogMessages: options.maxLogMessages,
      maxLogMessageBytes: options.maxLogMessageBytes,
      spinMicros: options.spinMicros ?? 0,
      availableHostCalls,
    };
    this.worker = new Worker(sandboxWorkerUrl(), {
      workerData: init,
      // Plain JavaScript needs none of the parent's flags (`--import tsx` alone costs ~200 ms per start).
      execArgv: [],
      transferList: [port2],
      // The wasm stack is the thread's native stack: this is what makes stackKb a hard limit.
      // Node keeps 192 KiB of a worker's stack as a guard below V8's limit (a thread under
      // ~200 KiB crashes the process); the extra 256 KiB covers that and the host's own frames.
      resourceLimits: { stackSizeMb: (options.stackKb + THREAD_STACK_OVERHEAD_KB) / 1024, maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 8 },
      stdout: false,
      stderr: false,
    });
    const waiting = Atomics.waitAsync(this.ctrl, Slot.READY, 0);
    this.ready = waiting.async ? waiting.value.then(() => undefined) : Promise.resolve();
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => this.fail(new Error('the sandbox worker exited')));
  }

  get isGone(): boolean {
    return this.gone;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Posts a module to the worker once; later requests name it by id. */
  private ensureModule(module: CompiledModule): void {
    if (this.sent.has(module.id)) return;
    this.post({ type: 'module', id: module.id, module: module.module, maxBytes: module.maxBytes });
    this.sent.add(module.id);
  }

  forget(moduleId: number): void {
    if (!this.sent.delete(moduleId) || this.gone) return;
    this.post({ type: 'forget', id: moduleId });
  }

  private post(message: ToWorkerMessage): void {
    this.port.postMessage(message);
    this.posted++;
  }

  run(pending: Pending, spinMicros = 0): void {
    const { job } = pending;
    const ctrl = this.ctrl;
    this.ensureModule(job.module);
    const { read, written } = encoder.encodeInto(job.input, this.data);
    let contextAt = written;
    if (read < job.input.length) {
      this.post({ type: 'input', input: encoder.encode(job.input) });
      ctrl[Slot.INPUT_LEN] = LEN_IN_PORT;
      contextAt = 0;
    } else {
      ctrl[Slot.INPUT_LEN] = written;
    }
    ctrl[Slot.CONTEXT_LEN] = -1;
    if (job.context !== undefined) {
      const placed = encoder.encodeInto(job.context, this.data.subarray(contextAt));
      if (placed.read === job.context.length) ctrl[Slot.CONTEXT_LEN] = placed.written;
    }
    const number = ++jobCounter;
    ctrl[Slot.MODULE_ID] = job.module.id;
    ctrl[Slot.JOB] = number;
    ctrl[Slot.PORT_MESSAGES] = this.posted;
    this.f64[F64.STARTED_AT] = 0;
    const running: Running = { ...pending, number, dispatchedAt: Date.now(), timer: undefined, controller: undefined, hostContext: undefined, hostJournal: undefined };
    this.running = running;
    running.timer = setTimeout(() => this.checkTimeout(running), Math.min(job.timeoutMs, SLOW_JOB_MS));
    this.lastEvent = Atomics.load(ctrl, Slot.EVT);
    Atomics.add(ctrl, Slot.REQ, 1);
    Atomics.notify(ctrl, Slot.REQ);
    if (spinMicros > 0) {
      // Only when nothing else is in flight (the pool decides): a quick guest answers within
      // microseconds, and catching that here saves the event-loop wake-up of waitAsync.
      const until = performance.now() + spinMicros / 1000;
      while (Atomics.load(ctrl, Slot.EVT) === this.lastEvent && performance.now() < until);
    }
    this.listen();
  }

  private listen(): void {
    const waiting = Atomics.waitAsync(this.ctrl, Slot.EVT, this.lastEvent);
    if (waiting.async) void waiting.value.then(this.listener);
    else this.onEvent();
  }

  private onEvent(): void {
    const running = this.running;
    if (this.gone || running === undefined) return;
    this.ranGuest = true;
    const event = Atomics.load(this.ctrl, Slot.EVT);
    if (event === this.lastEvent) return this.listen();
    this.lastEvent = event;
    if (this.ctrl[Slot.EVT_KIND] === EventKind.HOST_CALL) {
      void this.serveHostCall(running);
      return;
    }
    this.finish(running);
  }

  private finish(running: Running): void {
    const ctrl = this.ctrl;
    const status = ctrl[Slot.STATUS] as number;
    const length = ctrl[Slot.DATA_LEN] as number;
    let body: string;
    let journalText = '';
    if (length === LEN_IN_PORT) {
      const message = receiveMessageOnPort(this.port)?.message as Extract<FromWorkerMessage, { type: 'result' }> | undefined;
      body = message === undefined ? '' : Buffer.from(message.output.buffer, message.output.byteOffset, message.output.length).toString('utf8');
      journalText = message?.journal ?? '';
    } else {
      body = this.text.toString('utf8', 0, length);
      const journalLength = ctrl[Slot.JOURNAL_LEN] as number;
      if (journalLength > 0) journalText = this.text.toString('utf8', length, length + journalLength);
    }
    const journal = mergeJournal(journalText, running.hostJournal);
    const ok = status === Status.OK;
    const result: SandboxResult = {
      ok,
      output: ok ? body : '',
      error: ok ? undefined : { kind: statusNames[status] ?? 'RuntimePanic', message: body },
      durationMs: this.f64[F64.DURATION_MS] as number,
      memoryBytes: this.f64[F64.MEMORY_BYTES] as number,
      journal,
      logsDropped: ctrl[Slot.LOGS_DROPPED] as number,
    };
    this.settle(running, result);
    this.options.onIdle(this);
  }

  private lowerPriority(): void {
    const tid = this.ctrl[Slot.TID] as number;
    if (this.lowered || tid === 0) return;
    try {
      setPriority(tid, LOWERED_NICE);
      this.lowered = true;
    } catch {
      // Not permitted here (no such thread, a sandboxed host): the timeout still holds.
    }
  }

  private restorePriority(): void {
    if (!this.lowered || this.gone) return;
    try {
      setPriority(this.ctrl[Slot.TID] as number, 0);
      this.lowered = false;
    } catch {
      // Raising priority back needs CAP_SYS_NICE; without it the thread stays at nice 10.
    }
  }

  private settle(running: Running, result: SandboxResult): void {
    if (this.running === running) this.running = undefined;
    this.restorePriority();
    if (running.timer !== undefined) clearTimeout(running.timer);
    running.controller?.abort(new Error(result.ok ? 'the invocation ended' : `the invocation ended: ${result.error?.kind}`));
    running.resolve(result);
  }

  private async serveHostCall(running: Running): Promise<void> {
    const ctrl = this.ctrl;
    const name = hostCallNames[ctrl[Slot.HOST_FN] as number] as HostCallName;
    const seq = ctrl[Slot.HOST_SEQ] as number;
    const length = ctrl[Slot.DATA_LEN] as number;
    const request =
      length === LEN_IN_PORT
        ? (receiveMessageOnPort(this.port)?.message as Extract<FromWorkerMessage, { type: 'hostcall' }> | undefined)?.request ?? new Uint8Array(0)
        : this.data.slice(0, length);
    running.controller ??= new AbortController();
    running.hostContext ??= { ...running.job.host, signal: running.controller.signal, deadline: running.dispatchedAt + running.job.timeoutMs };
    const startedAt = Date.now();
    const started = performance.now();
    let answer: Uint8Array | string | null = null;
    let failure: string | undefined;
    try {
      const fn = this.options.hostFunctions[name];
      if (fn === undefined) throw new Error(`${name} is not available`);
      answer = await fn(request, running.hostContext);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const entry: HostCallRecord = {
      seq,
      fn: name,
      request: Buffer.from(request.buffer, request.byteOffset, request.length).toString('utf8'),
      response: failure !== undefined || answer === null ? null : typeof answer === 'string' ? answer : Buffer.from(answer).toString('utf8'),
      startedAt,
      durationMs: performance.now() - started,
      ...(failure === undefined ? {} : { error: failure }),
    };
    // env answers are secrets: the journal keeps "[redacted]" (or null for unset), never the value.
    (running.hostJournal ??= []).push(redactJournalEntry(entry));
    if (this.gone || this.running !== running) return;

    if (failure !== undefined) {
      ctrl[Slot.STATUS] = HostReply.THREW;
      ctrl[Slot.DATA_LEN] = this.text.write(failure.slice(0, 4096), 0, 'utf8');
    } else if (answer === null) {
      ctrl[Slot.STATUS] = HostReply.ANSWER;
      ctrl[Slot.DATA_LEN] = LEN_NULL;
    } else {
      ctrl[Slot.STATUS] = HostReply.ANSWER;
      const bytes = typeof answer === 'string' ? undefined : answer;
      if (bytes !== undefined && bytes.length <= DATA_BYTES) {
        this.data.set(bytes);
        ctrl[Slot.DATA_LEN] = bytes.length;
      } else if (typeof answer === 'string' && Buffer.byteLength(answer) <= DATA_BYTES) {
        ctrl[Slot.DATA_LEN] = this.text.write(answer, 0, 'utf8');
      } else {
        this.post({ type: 'reply', data: answer });
        ctrl[Slot.DATA_LEN] = LEN_IN_PORT;
      }
    }
    ctrl[Slot.PORT_MESSAGES] = this.posted;
    Atomics.add(ctrl, Slot.HOST_REPLY, 1);
    Atomics.notify(ctrl, Slot.HOST_REPLY);
    this.listen();
  }

  /** The clock is the main thread's; the worker only stamps when it actually started the job. */
  private checkTimeout(running: Running): void {
    if (this.running !== running || this.gone) return;
    const startedAt = this.f64[F64.STARTED_AT] as number;
    const limit = running.job.timeoutMs;
    if (startedAt !== 0) this.ranGuest = true;
    if (startedAt === 0) {
      // Still starting up (a fresh worker): the guest has not run yet, so its clock has not started.
      running.timer = setTimeout(() => this.checkTimeout(running), Math.min(limit, 50));
      return;
    }
    const elapsed = Date.now() - startedAt;
    if (elapsed < limit) {
      if (elapsed >= SLOW_JOB_MS) this.lowerPriority();
      running.timer = setTimeout(() => this.checkTimeout(running), Math.max(1, limit - elapsed));
      return;
    }
    running.timer = undefined;
    this.settle(running, failed(running, 'Timeout', `the function ran past its ${limit} ms timeout; its worker was terminated and replaced. Raise config.timeoutMs or make the function faster.`, elapsed));
    this.terminate();
  }

  /** Terminate rather than interrupt: V8 cannot stop a running wasm loop from another thread. */
  terminate(reason?: Error): void {
    if (this.gone) return;
    this.gone = true;
    void this.worker.terminate();
    this.port.close();
    // Wake our own pending waitAsync so it does not linger on a channel nobody writes any more.
    Atomics.notify(this.ctrl, Slot.EVT);
    const running = this.running;
    this.running = undefined;
    let requeue: Pending | undefined;
    if (running !== undefined) {
      if ((this.f64[F64.STARTED_AT] as number) === 0 && (running.requeued ?? 0) === 0 && reason !== undefined) {
        // The guest never started here, so another worker may run it as if nothing happened.
        if (running.timer !== undefined) clearTimeout(running.timer);
        requeue = { job: running.job, resolve: running.resolve, requeued: 1 };
      } else if (reason !== undefined) {
        this.settle(running, failed(running, 'RuntimePanic', `the sandbox worker died before running the function: ${reason.message}`, Date.now() - running.dispatchedAt));
      } else {
        this.settle(running, failed(running, 'Unavailable', 'the sandbox shut down while the function was running', Date.now() - running.dispatchedAt));
      }
    }
    this.options.onGone(this, requeue, reason !== undefined && !this.ranGuest);
  }

  private fail(error: Error & { code?: string }): void {
    if (this.gone) return;
    const running = this.running;
    if (running !== undefined && (this.f64[F64.STARTED_AT] as number) !== 0) {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.settle(running, failed(running, outOfMemory ? 'OutOfMemory' : 'RuntimePanic', `the sandbox worker died while running the function: ${error.message}`, Date.now() - running.dispatchedAt));
    }
    this.terminate(error);
  }
}

function failed(running: Running, kind: NonNullable<SandboxResult['error']>['kind'], message: string, durationMs: number): SandboxResult {
  return { ok: false, output: '', error: { kind, message }, durationMs, memoryBytes: 0, journal: running.hostJournal ?? [], logsDropped: 0 };
}

function mergeJournal(workerText: string, host: HostCallRecord[] | undefined): HostCallRecord[] {
  const fromWorker: WorkerJournalEntry[] = workerText === '' ? [] : (JSON.parse(workerText) as WorkerJournalEntry[]);
  if (host === undefined || host.length === 0) return fromWorker;
  const hostSeqs = new Set(host.map((entry) => entry.seq));
  return [...fromWorker.filter((entry) => !hostSeqs.has(entry.seq)), ...host].sort((a, b) => a.seq - b.seq);
}
