import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { GuestChannels } from '../db/index.js';
import type { HostFunctions } from './host-function.js';
import { readJobResult, setThreadNice } from './host-call-bridge.js';
import { HostCallServer } from './host-call-server.js';
import {
  channelViews,
  CHANNEL_BYTES,
  Job,
  JOB_F64S,
  JOB_INTS,
  JobF64,
  JobState,
  QUEUE_DEPTH,
  Slot,
  type ChannelViews,
  type FromWorkerMessage,
  type ToWorkerMessage,
} from './sandbox-protocol.js';
import { failed, finishedOldestFirst, oldestRunningStart, writeJobSlot, type Pending, type Running } from './sandbox-job-record.js';
import type { CompiledModule, SandboxResult } from './sandbox-types.js';

export type { Pending } from './sandbox-job-record.js';
import { startSandboxWorker } from './sandbox-worker-start.js';

export interface ThreadOptions {
  readonly stackKb: number;
  readonly maxLogMessages: number;
  readonly maxLogMessageBytes: number;
  readonly spinMicros?: number;
  readonly hostFunctions: HostFunctions;
  /** Set when guests' db_query goes to the PGlite thread directly: each worker gets a channel of its own. */
  readonly guestChannels?: GuestChannels;
  /**
   * After answering a host call, how long the main thread spins for the guest's next call or
   * result, and the worker for its next reply (0: never).
   */
  readonly hostSpinMicros?: number;
  /** Whether the main thread may spin for this thread now (the pool: no other thread is busy). */
  readonly maySpin?: () => boolean;
  /** Called after the thread finished one or more jobs and may take more. */
  readonly onIdle: (thread: SandboxThread) => void;
  /** Jobs that were queued behind a slow guest and never started: run them elsewhere. */
  readonly onGiveBack: (thread: SandboxThread, pending: Pending[]) => void;
  /**
   * Called once when the thread is gone (timeout, crash, close) with the jobs it never started;
   * `diedAtStart` says the worker died on its own before it ever ran a guest.
   */
  readonly onGone: (thread: SandboxThread, requeue: Pending[], diedAtStart: boolean) => void;
}

/**
 * A guest still running after this long gets a lower CPU priority (nice 10) until it ends, so a
 * busy loop cannot starve the main thread (whose timers enforce the timeouts) or short calls; the
 * jobs queued behind it go back to the pool.
 */
export const SLOW_JOB_MS = 3;
/** Jobs queue behind a running one only while it has run less than this (a quick guest). */
const QUEUE_BEHIND_MS = 2;
const LOWERED_NICE = 10;

/** The main thread's end of one sandbox worker and its shared-memory ring of job slots. */
export class SandboxThread {
  readonly worker: Worker;
  readonly stackKb: number;
  private readonly views: ChannelViews;
  private readonly port: MessagePort;
  private readonly sent = new Set<number>();
  private readonly forgetLater = new Set<number>();
  private readonly slots: Array<Running | undefined> = new Array<Running | undefined>(QUEUE_DEPTH).fill(undefined);
  private portPosted = 0;
  private requests = 0;
  private inFlightCount = 0;
  private listening = false;
  private readonly hostCalls: HostCallServer;
  private gone = false;
  /** Whether the worker ever started a guest (one that dies before that may be unable to start at all). */
  private ranGuest = false;
  private lowered = false;
  private queueWatch: NodeJS.Timeout | undefined;
  /** Resolves once the worker's code is loaded and it waits for requests (never, if it dies first). */
  readonly ready: Promise<void>;
  private isReady = false;
  private listenGeneration = 0;
  private dispatchedEvent = 0;
  private readonly databaseChannel: number | undefined;

  constructor(private readonly options: ThreadOptions) {
    this.stackKb = options.stackKb;
    const channel = new SharedArrayBuffer(CHANNEL_BYTES);
    this.views = channelViews(channel);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const database = options.guestChannels?.open();
    this.databaseChannel = database?.id;
    this.worker = startSandboxWorker(database === undefined ? options : { ...options, database: database.link }, channel, port2);
    const waiting = Atomics.waitAsync(this.views.ctrl, Slot.READY, 0);
    this.ready = (waiting.async ? waiting.value.then(() => undefined) : Promise.resolve()).then(() => {
      this.isReady = true;
    });
    const maySpin = options.maySpin ?? (() => true);
    this.hostCalls = new HostCallServer(this.views, options.hostFunctions, options.hostSpinMicros ?? 0, {
      jobIn: (slot) => this.slots[slot],
      receiveRequest: () => this.receive('hostcall')?.request,
      postReply: (reply) => this.post({ type: 'reply', data: reply }),
      portPosted: () => this.portPosted,
      isGone: () => this.gone,
      onEvent: () => this.onEvent(),
      listen: (seen) => this.listen(seen),
      forgetListener: () => {
        this.listening = false;
        this.listenGeneration++;
      },
      maySpin: () => this.inFlightCount === 1 && maySpin(),
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => this.fail(new Error('the sandbox worker exited')));
  }

  get isGone(): boolean {
    return this.gone;
  }

  get busy(): boolean {
    return this.inFlightCount > 0;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Whether a job posted now would start soon: a free ring slot and nothing slow ahead of it. */
  acceptsMore(limit = QUEUE_DEPTH): boolean {
    if (this.gone || !this.isReady || this.inFlightCount >= limit) return false;
    if (this.requests - Atomics.load(this.views.ctrl, Slot.CONSUMED) >= QUEUE_DEPTH) return false;
    if (this.slots[this.requests % QUEUE_DEPTH] !== undefined) return false;
    if (this.inFlightCount === 0) return true;
    const oldest = oldestRunningStart(this.views, this.slots);
    return oldest === 0 || Date.now() - oldest < QUEUE_BEHIND_MS;
  }

  private state(slot: number): number {
    return Atomics.load(this.views.jobs, slot * JOB_INTS + Job.STATE);
  }

  /** Posts a module to the worker once; later requests name it by id. */
  private ensureModule(module: CompiledModule): void {
    if (this.sent.has(module.id)) return;
    this.post({ type: 'module', id: module.id, module: module.module, maxBytes: module.maxBytes, importedMemory: module.importedMemory, reset: module.reset });
    this.sent.add(module.id);
  }

  /** Lets the worker drop a module the cache evicted, once no job of this thread still needs it. */
  forget(moduleId: number): void {
    if (!this.sent.has(moduleId) || this.gone) return;
    if (this.slots.some((running) => running?.job.module.id === moduleId)) {
      this.forgetLater.add(moduleId);
      return;
    }
    this.sent.delete(moduleId);
    this.forgetLater.delete(moduleId);
    this.post({ type: 'forget', id: moduleId });
    Atomics.store(this.views.ctrl, Slot.PORT_POSTED, this.portPosted);
  }

  private post(message: ToWorkerMessage): void {
    this.port.postMessage(message);
    this.portPosted++;
  }

  /** Queues a job in the next ring slot; call only when acceptsMore() (or the thread is idle and ready). */
  run(pending: Pending): void {
    const { job } = pending;
    const { ctrl } = this.views;
    const index = this.requests;
    const slot = index % QUEUE_DEPTH;
    this.ensureModule(job.module);
    writeJobSlot(this.views, index, job, (input) => this.post({ type: 'input', index, input }), this.databaseChannel !== undefined);
    Atomics.store(ctrl, Slot.PORT_POSTED, this.portPosted);
    // One fixed shape, no spread: this runs once per invocation.
    const running: Running = { job, resolve: pending.resolve, requeued: pending.requeued, index, dispatchedAt: Date.now(), timer: undefined, controller: undefined, hostContext: undefined, hostJournal: undefined };
    this.slots[slot] = running;
    if (this.inFlightCount > 0) this.watchQueue();
    this.inFlightCount++;
    this.requests++;
    this.hostCalls.allowWorkerSpin();
    running.timer = setTimeout(() => this.checkTimeout(running), Math.min(job.timeoutMs, SLOW_JOB_MS));
    const lastEvent = Atomics.load(ctrl, Slot.EVT);
    this.dispatchedEvent = lastEvent;
    Atomics.store(ctrl, Slot.REQ, this.requests);
    // Wake a sleeping worker once for every job queued in this turn (a microtask later, before the
    // lone-job spin): a wake-up costs the main thread ~15-20 µs on this VM, and under load the
    // worker drains its ring and sleeps between refills, so a wake per job was the largest cost
    // of dispatch. An awake worker needs none (it looks at REQ before it sleeps).
    if (!this.wakeQueued) {
      this.wakeQueued = true;
      queueMicrotask(this.wake);
    }
    this.listen(lastEvent);
  }

  private wakeQueued = false;
  /** How often this thread woke its sleeping worker (pool stats; wake-ups are costly on a VM). */
  wakes = 0;
  private readonly wake = (): void => {
    this.wakeQueued = false;
    if (!this.gone && Atomics.load(this.views.ctrl, Slot.SLEEPING) === 1) {
      this.wakes++;
      Atomics.notify(this.views.ctrl, Slot.REQ);
    }
  };

  /**
   * Spins up to `micros` for the answer to the one job in flight here and collects it at once,
   * instead of waiting for the event loop to deliver the wake-up. The pool calls it a microtask
   * after a lone dispatch, so a burst of jobs queued in the same turn is never held up by it.
   */
  awaitLoneAnswer(micros: number): void {
    if (this.gone || this.inFlightCount !== 1 || this.hostCalls.serving) return;
    const { ctrl } = this.views;
    const seen = this.dispatchedEvent;
    const until = performance.now() + micros / 1000;
    while (Atomics.load(ctrl, Slot.EVT) === seen && performance.now() < until);
    if (Atomics.load(ctrl, Slot.EVT) === seen) return;
    this.listenGeneration++; // the pending waitAsync is stale now: onEvent below re-listens if needed
    this.onEvent();
  }

  private listen(seen = Atomics.load(this.views.ctrl, Slot.EVT)): void {
    if (this.listening || this.gone) return;
    this.listening = true;
    const generation = ++this.listenGeneration;
    const listener = (): void => {
      if (generation === this.listenGeneration) this.onEvent();
    };
    const waiting = Atomics.waitAsync(this.views.ctrl, Slot.EVT, seen);
    if (waiting.async) void waiting.value.then(listener);
    else queueMicrotask(listener);
  }

  private onEvent(): void {
    this.listening = false;
    if (this.gone) return;
    const seen = Atomics.load(this.views.ctrl, Slot.EVT);
    const finished = this.collect();
    this.hostCalls.takePending();
    if (this.inFlightCount > 0 && !this.hostCalls.serving) this.listen(seen);
    if (finished > 0) this.options.onIdle(this);
  }

  /** Settles every job the worker marked DONE; returns how many. */
  private collect(): number {
    const done = finishedOldestFirst(this.views, this.slots);
    for (const running of done) {
      const slot = running.index % QUEUE_DEPTH;
      this.ranGuest = true;
      this.settle(slot, running, this.readResult(slot, running));
    }
    return done.length;
  }

  private readResult(slot: number, running: Running): SandboxResult {
    return readJobResult(this.views, slot, running.hostJournal, () => this.receive('result'));
  }

  private receive<T extends FromWorkerMessage['type']>(type: T): Extract<FromWorkerMessage, { type: T }> | undefined {
    const message = receiveMessageOnPort(this.port)?.message as FromWorkerMessage | undefined;
    return message?.type === type ? (message as Extract<FromWorkerMessage, { type: T }>) : undefined;
  }

  private settle(slot: number, running: Running, result: SandboxResult): void {
    if (this.slots[slot] !== running) return;
    this.slots[slot] = undefined;
    this.inFlightCount--;
    if (running.timer !== undefined) clearTimeout(running.timer);
    if (this.inFlightCount === 0) this.restorePriority();
    running.controller?.abort(new Error(result.ok ? 'the invocation ended' : `the invocation ended: ${result.error?.kind}`));
    if (this.forgetLater.has(running.job.module.id)) this.forget(running.job.module.id);
    running.resolve(result);
  }

  /** The clock is the main thread's; the worker only stamps when it actually started the job. */
  private checkTimeout(running: Running): void {
    const slot = running.index % QUEUE_DEPTH;
    if (this.slots[slot] !== running || this.gone) return;
    const limit = running.job.timeoutMs;
    const state = this.state(slot);
    if (state === JobState.DONE) {
      this.onEvent();
      return;
    }
    const startedAt = this.views.times[slot * JOB_F64S + JobF64.STARTED_AT] as number;
    if (state !== JobState.RUNNING || startedAt === 0) {
      // Not started yet (a fresh worker, or queued behind another job): its clock has not started.
      running.timer = setTimeout(() => this.checkTimeout(running), Math.min(limit, SLOW_JOB_MS));
      return;
    }
    this.ranGuest = true;
    const elapsed = Date.now() - startedAt;
    if (elapsed < limit) {
      if (elapsed >= SLOW_JOB_MS) {
        this.lowerPriority();
        this.giveBackQueued();
      }
      running.timer = setTimeout(() => this.checkTimeout(running), Math.max(1, limit - elapsed));
      return;
    }
    running.timer = undefined;
    this.settle(slot, running, failed(running, 'Timeout', `the function ran past its ${limit} ms timeout; its worker was terminated and replaced. Raise config.timeoutMs or make the function faster.`, elapsed));
    this.terminate();
  }

  /** While jobs wait behind a running one, check soon that it is still a quick one. */
  private watchQueue(): void {
    if (this.queueWatch !== undefined) return;
    this.queueWatch = setTimeout(() => {
      this.queueWatch = undefined;
      if (this.gone || this.inFlightCount <= 1) return;
      const oldest = oldestRunningStart(this.views, this.slots);
      if (oldest !== 0 && Date.now() - oldest >= QUEUE_BEHIND_MS) this.giveBackQueued();
      if (this.inFlightCount > 1) this.watchQueue();
    }, QUEUE_BEHIND_MS + 1);
  }

  /** Takes back the jobs waiting behind a slow guest, so they run on another worker. */
  private giveBackQueued(): void {
    const back: Pending[] = [];
    for (let slot = 0; slot < QUEUE_DEPTH; slot++) {
      const running = this.slots[slot];
      if (running === undefined) continue;
      const at = slot * JOB_INTS + Job.STATE;
      if (Atomics.compareExchange(this.views.jobs, at, JobState.QUEUED, JobState.CANCELLED) !== JobState.QUEUED) continue;
      if (running.timer !== undefined) clearTimeout(running.timer);
      this.slots[slot] = undefined;
      this.inFlightCount--;
      back.push({ job: running.job, resolve: running.resolve, requeued: running.requeued ?? 0 });
    }
    if (back.length > 0) this.options.onGiveBack(this, back);
  }

  private lowerPriority(): void {
    if (!this.lowered) this.lowered = setThreadNice(this.views.ctrl[Slot.TID] as number, LOWERED_NICE);
  }

  private restorePriority(): void {
    // Raising priority back needs CAP_SYS_NICE; without it the thread stays at nice 10.
    if (this.lowered && !this.gone) this.lowered = !setThreadNice(this.views.ctrl[Slot.TID] as number, 0);
  }

  /** Terminate rather than interrupt: V8 cannot stop a running wasm loop from another thread. */
  terminate(reason?: Error): void {
    if (this.gone) return;
    this.collect();
    this.gone = true;
    if (this.queueWatch !== undefined) clearTimeout(this.queueWatch);
    void this.worker.terminate();
    this.port.close();
    if (this.databaseChannel !== undefined) this.options.guestChannels?.close(this.databaseChannel);
    // Wake our own pending waitAsync so it does not linger on a channel nobody writes any more.
    Atomics.notify(this.views.ctrl, Slot.EVT);
    const requeue: Pending[] = [];
    const diedAtStart = reason !== undefined && !this.ranGuest;
    for (let slot = 0; slot < QUEUE_DEPTH; slot++) {
      const running = this.slots[slot];
      if (running === undefined) continue;
      const notStarted = this.state(slot) === JobState.QUEUED;
      const requeued = (running.requeued ?? 0) + (diedAtStart ? 1 : 0);
      if (notStarted && requeued <= 1) {
        // The guest never started here, so another worker may run it as if nothing happened.
        if (running.timer !== undefined) clearTimeout(running.timer);
        this.slots[slot] = undefined;
        this.inFlightCount--;
        requeue.push({ job: running.job, resolve: running.resolve, requeued });
      } else if (reason !== undefined) {
        const outOfMemory = (reason as Error & { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' && !notStarted;
        const message = notStarted ? `the sandbox worker died before running the function: ${reason.message}` : `the sandbox worker died while running the function: ${reason.message}`;
        this.settle(slot, running, failed(running, outOfMemory ? 'OutOfMemory' : 'RuntimePanic', message, Date.now() - running.dispatchedAt));
      } else {
        this.settle(slot, running, failed(running, 'Unavailable', 'the sandbox shut down while the function was running', Date.now() - running.dispatchedAt));
      }
    }
    this.options.onGone(this, requeue, diedAtStart);
  }

  private fail(error: Error & { code?: string }): void {
    if (this.gone) return;
    this.terminate(error);
  }
}
