import { LoopHold } from '../event-loop/index.js';
import type { HostCallContext, HostFunctions } from './host-function.js';
import { runHostCall, writeHostReply, type ServedHostCall } from './host-call-bridge.js';
import { hostCallNames, LEN_IN_PORT, QUEUE_DEPTH, Slot, SLOT_DATA_BYTES, type ChannelViews, type HostCallName } from './sandbox-protocol.js';
import type { SandboxJob } from './sandbox-types.js';

/** The part of a running job a host call needs; the thread's Running record is one. */
export interface HostCallTarget {
  readonly job: SandboxJob;
  readonly index: number;
  readonly dispatchedAt: number;
  controller: AbortController | undefined;
  hostContext: HostCallContext | undefined;
  hostJournal: ServedHostCall[] | undefined;
}

export interface HostCallServerHooks {
  /** The running job in a ring slot (undefined once it was settled). */
  readonly jobIn: (slot: number) => HostCallTarget | undefined;
  /** Takes the request that travelled over the port (too big for the slot). */
  readonly receiveRequest: () => Uint8Array | undefined;
  /** Sends a reply too big for the slot over the port; returns how many port messages are posted now. */
  readonly postReply: (data: Uint8Array | string) => void;
  readonly portPosted: () => number;
  readonly isGone: () => boolean;
  /** Handles whatever the worker signalled (a result, the next host call): the thread's onEvent. */
  readonly onEvent: () => void;
  /** Waits for the worker's next event on the event loop (Atomics.waitAsync). */
  readonly listen: (seen: number) => void;
  /** Drops a pending waitAsync (its wake-up is handled by a spin now). */
  readonly forgetListener: () => void;
  /** Whether the main thread may spin for this thread's next event (nothing else is in flight). */
  readonly maySpin: () => boolean;
}

/**
 * The main thread never spins or serves synchronously for longer than this without letting the
 * event loop turn, so timers (timeouts) and I/O still run while a guest calls a host function
 * that answers from memory in a tight loop.
 */
const MAX_HOLD_MS = 1;
const SPIN_MISSES_TO_STOP = 2;
const SPIN_RETRY_EVERY = 16;

/**
 * Serves a worker's host calls on the main thread: reads the request from the job slot, runs the
 * async HostFunction, records the (redacted) journal entry, writes the reply and wakes the worker.
 *
 * After a reply the guest usually calls again, or returns, within microseconds. Waiting for that
 * through Atomics.waitAsync costs an event-loop wake-up per call (tens of µs, more when the
 * machine is busy), so the server first spins up to `spinMicros` on the channel and handles the
 * next event at once, like the pool's lone-job spin does for results.
 */
export class HostCallServer {
  serving = false;
  private spinMisses = 0;
  private repliesSinceSpin = 0;
  private readonly loop = new LoopHold(MAX_HOLD_MS);

  constructor(
    private readonly views: ChannelViews,
    private readonly hostFunctions: HostFunctions,
    private readonly spinMicros: number,
    private readonly hooks: HostCallServerHooks,
  ) {}

  /** Starts serving a host call the worker posted, if one is pending and none is being served. */
  takePending(): void {
    const { ctrl } = this.views;
    if (this.serving || Atomics.load(ctrl, Slot.HOST_PENDING) !== 1) return;
    Atomics.store(ctrl, Slot.HOST_PENDING, 0);
    const target = this.hooks.jobIn(ctrl[Slot.HOST_SLOT] as number);
    if (target === undefined) return;
    this.serving = true;
    void this.serve(target);
  }

  private async serve(target: HostCallTarget): Promise<void> {
    const { ctrl, data } = this.views;
    const name = hostCallNames[ctrl[Slot.HOST_FN] as number] as HostCallName;
    const seq = ctrl[Slot.HOST_SEQ] as number;
    const length = ctrl[Slot.HOST_LEN] as number;
    const slot = target.index % QUEUE_DEPTH;
    const base = slot * SLOT_DATA_BYTES;
    const request = length === LEN_IN_PORT ? this.hooks.receiveRequest() ?? new Uint8Array(0) : data.slice(base, base + length);
    target.controller ??= new AbortController();
    target.hostContext ??= { ...target.job.host, signal: target.controller.signal, deadline: target.dispatchedAt + target.job.timeoutMs };
    const outcome = await runHostCall(this.hostFunctions, name, request, target.hostContext);
    this.serving = false;
    const journal = (target.hostJournal ??= []);
    if (this.hooks.isGone() || this.hooks.jobIn(slot) !== target) {
      journal.push({ name, seq, request, outcome });
      return;
    }
    writeHostReply(this.views, base, outcome, this.hooks.postReply);
    Atomics.store(ctrl, Slot.PORT_POSTED, this.hooks.portPosted());
    const spin = this.allowWorkerSpin();
    const seen = Atomics.load(ctrl, Slot.EVT);
    Atomics.add(ctrl, Slot.HOST_REPLY, 1);
    Atomics.notify(ctrl, Slot.HOST_REPLY);
    // The guest runs on meanwhile; its job cannot be settled before this (synchronous) push.
    journal.push({ name, seq, request, outcome });
    if (spin && this.mayHoldLoop()) {
      this.spinForEvent(seen);
      return;
    }
    // Held the loop for MAX_HOLD_MS (a host function that answers without I/O, like PGlite's):
    // let it turn once for timers and I/O, then look for the guest's next call right away. Not
    // through a listener: the guest has usually called again already, and a listener then fires
    // in a microtask of this same task — the loop would not turn, and the call would miss the
    // spin's fast hand-off (~12 µs instead of ~5).
    if (spin) setImmediate(() => this.resumeAfterTurn(seen));
    else this.hooks.listen(seen);
  }

  /**
   * Waits up to spinMicros for the worker's next event after `seen` and handles it at once, or
   * listens. It spins while spinning pays; when the worker shares this core (a busy machine) a
   * spin only keeps the worker from running, so after SPIN_MISSES_TO_STOP spins in a row that saw
   * nothing it blocks in Atomics.wait instead — the worker then runs, and its notify wakes this
   * thread without an event-loop turn — trying a spin again every SPIN_RETRY_EVERY replies.
   */
  private spinForEvent(seen: number): void {
    const { ctrl } = this.views;
    const budgetMs = this.spinMicros / 1000;
    if (this.spinMisses < SPIN_MISSES_TO_STOP || ++this.repliesSinceSpin >= SPIN_RETRY_EVERY) {
      this.repliesSinceSpin = 0;
      const until = performance.now() + budgetMs;
      while (Atomics.load(ctrl, Slot.EVT) === seen && performance.now() < until);
      this.spinMisses = Atomics.load(ctrl, Slot.EVT) === seen ? this.spinMisses + 1 : 0;
    } else {
      Atomics.wait(ctrl, Slot.EVT, seen, budgetMs);
    }
    if (Atomics.load(ctrl, Slot.EVT) !== seen) {
      this.hooks.forgetListener();
      this.hooks.onEvent();
      return;
    }
    this.hooks.listen(seen);
  }

  private resumeAfterTurn(seen: number): void {
    // Something else (a timeout check) may have handled it meanwhile; handling an event twice is
    // harmless, a call being served or a gone thread is left alone.
    if (this.serving || this.hooks.isGone()) return;
    if (this.hooks.maySpin() && this.mayHoldLoop()) this.spinForEvent(seen);
    else this.hooks.listen(seen);
  }

  /**
   * Tells the worker whether it may spin for its next host-call reply: only while its job is the
   * only one in flight anywhere, so a spinning worker never competes with other work for the cores.
   * Called on each dispatch and each reply; returns whether spinning is allowed.
   */
  allowWorkerSpin(): boolean {
    const spin = this.spinMicros > 0 && this.hooks.maySpin();
    Atomics.store(this.views.ctrl, Slot.HOST_SPIN, spin ? 1 : 0);
    return spin;
  }

  private mayHoldLoop(): boolean {
    return this.loop.mayHold();
  }
}
