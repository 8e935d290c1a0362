import { once } from 'node:events';
import type { GuestChannels } from '../db/index.js';
import type { Logger } from '../observability/index.js';
import type { HostFunctions } from './host-function.js';
import { QUEUE_DEPTH } from './sandbox-protocol.js';
import { SandboxThread, type Pending } from './sandbox-thread.js';
import type { CompiledModule, SandboxJob, SandboxResult } from './sandbox-types.js';

/** Jobs one worker holds at most for run() callers (see depthFor). */
const SHALLOW_DEPTH = 8;

export interface SandboxPoolOptions {
  /** Worker threads per stack size (config.sandbox.workers; default: the number of cores). */
  readonly workers: number;
  /** Stack size of the workers started up front (config.sandbox.defaults.stackKb). */
  readonly defaultStackKb: number;
  readonly maxLogMessages: number;
  readonly maxLogMessageBytes: number;
  readonly hostFunctions?: HostFunctions;
  /** PGlite on its own thread: guests' db_query goes there directly (in place of hostFunctions.db_query). */
  readonly guestChannels?: GuestChannels;
  readonly logger?: Logger;
  /** How long an idle worker spins for the next request before sleeping (default 0). */
  readonly spinMicros?: number;
  /**
   * When a job arrives at an otherwise idle pool, the main thread waits this long for its result
   * before going back to the event loop (default 0: never). The same budget applies after each
   * host-call reply (for the guest's next call or result).
   */
  readonly mainSpinMicros?: number;
  /** Workers of a non-default stack size stop after this long idle. */
  readonly idleMs?: number;
}

export interface SandboxPoolStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly started: number;
  readonly replaced: number;
  /** Wake-ups of sleeping workers by the threads alive now (each costs the main thread µs on a VM). */
  readonly wakes: number;
}

export interface SandboxPool {
  /** Runs one job in a fresh instance; never rejects: failures come back as `ok: false`. */
  run(job: SandboxJob): Promise<SandboxResult>;
  /**
   * run() without a Promise: `done` is called once with the result, possibly synchronously from
   * inside the pool's own bookkeeping, so it must not throw and should defer heavy work (the
   * invoker's callback path batches results into one microtask).
   */
  submit(job: SandboxJob, done: (result: SandboxResult) => void): void;
  /** Resolves when the workers started up front, and replacements now starting, take work. */
  ready(): Promise<void>;
  /** Tells the workers to drop a module the cache evicted. */
  forget(module: CompiledModule): void;
  stats(): SandboxPoolStats;
  close(): Promise<void>;
}

/**
 * Worker threads grouped by stack size: a thread's stack size is fixed when it starts
 * (resourceLimits.stackSizeMb), so a function with its own stackKb runs in a group of its own.
 */
interface Group {
  readonly stackKb: number;
  readonly threads: Set<SandboxThread>;
  readonly idle: SandboxThread[];
  readonly queue: Pending[];
  idleTimer: NodeJS.Timeout | undefined;
  startFailures: number;
}

function unavailable(message: string): SandboxResult {
  return { ok: false, output: '', error: { kind: 'Unavailable', message }, durationMs: 0, memoryBytes: 0, journal: [], logsDropped: 0 };
}

export function createSandboxPool(options: SandboxPoolOptions): SandboxPool {
  const size = Math.max(1, options.workers);
  const hostFunctions = options.hostFunctions ?? {};
  const idleMs = options.idleMs ?? 30_000;
  const mainSpinMicros = options.mainSpinMicros ?? 0;
  /**
   * How many jobs one worker may hold in its ring. Jobs that come in bursts (submit(): the stream
   * processor hands over dozens per turn) fill the whole ring, so one wake-up carries many and a
   * worker rarely runs dry (embedded pipeline +8 %). Jobs that come one by one (run(): REST,
   * gRPC, schedules) stop at SHALLOW_DEPTH per worker and wait in the pool's queue beyond it: a
   * deep ring took all 50 concurrent HTTP calls at once, the workers ran dry between arrivals
   * and each new call paid a wake-up and a lone-job spin (REST 16k -> 9k req/s).
   */
  const depthFor = (pending: Pending): number => (pending.deep === true ? QUEUE_DEPTH : SHALLOW_DEPTH);
  const busyThreads = (): number => {
    let busy = 0;
    for (const thread of everyThread) if (thread.busy) busy++;
    return busy;
  };
  const groups = new Map<number, Group>();
  const everyThread = new Set<SandboxThread>();
  let started = 0;
  let replaced = 0;
  let closed = false;

  function groupFor(stackKb: number): Group {
    let group = groups.get(stackKb);
    if (group === undefined) {
      group = { stackKb, threads: new Set(), idle: [], queue: [], idleTimer: undefined, startFailures: 0 };
      groups.set(stackKb, group);
    }
    return group;
  }

  function spawn(group: Group): SandboxThread {
    started++;
    const thread: SandboxThread = new SandboxThread({
      stackKb: group.stackKb,
      maxLogMessages: options.maxLogMessages,
      maxLogMessageBytes: options.maxLogMessageBytes,
      spinMicros: options.spinMicros ?? 0,
      hostFunctions,
      ...(options.guestChannels === undefined ? {} : { guestChannels: options.guestChannels }),
      // The same budget as the lone-job spin: after answering a host call, wait on the channel for
      // the guest's next call or result, while no other thread's results could be held up.
      hostSpinMicros: mainSpinMicros,
      maySpin: () => busyThreads() <= 1,
      onIdle: (done) => {
        group.startFailures = 0;
        next(group, done);
      },
      onGiveBack: (_from, pending) => {
        group.queue.unshift(...pending);
        drain(group);
      },
      onGone: (gone, requeue, diedAtStart) => {
        group.threads.delete(gone);
        everyThread.delete(gone);
        const at = group.idle.indexOf(gone);
        if (at >= 0) group.idle.splice(at, 1);
        group.queue.unshift(...requeue);
        if (closed) return;
        replaced++;
        if (diedAtStart) group.startFailures++;
        if (group.startFailures >= 3) {
          // Workers that die before serving anything will keep dying: stop instead of spinning.
          options.logger?.error({ stackKb: group.stackKb }, 'sandbox workers keep dying at start; not starting more');
          for (const waiting of group.queue.splice(0)) waiting.resolve(unavailable('sandbox workers cannot start on this host; see the service log'));
          return;
        }
        drain(group);
        // Keep the default group warm; other groups refill only while work waits.
        if (group.stackKb === options.defaultStackKb || group.queue.length > 0) spawn(group);
      },
    });
    group.threads.add(thread);
    everyThread.add(thread);
    // A thread takes work only once its code is loaded, so a job never waits behind a start-up
    // while a warm thread is about to be free.
    void thread.ready.then(() => {
      if (!thread.isGone && !closed) next(group, thread);
    });
    return thread;
  }

  /** Gives a thread that finished work (or just started) as much queued work as it accepts. */
  function next(group: Group, thread: SandboxThread): void {
    while (group.queue.length > 0 && (thread.inFlight === 0 ? !thread.isGone : thread.acceptsMore(depthFor(group.queue[0]!)))) {
      const at = group.idle.indexOf(thread);
      if (at >= 0) group.idle.splice(at, 1);
      thread.run(group.queue.shift()!);
    }
    if (thread.inFlight > 0 || thread.isGone || group.idle.includes(thread)) return;
    group.idle.push(thread);
    if (group.stackKb !== options.defaultStackKb && group.idleTimer === undefined) {
      group.idleTimer = setTimeout(() => reap(group), idleMs);
      group.idleTimer.unref();
    }
  }

  /** The least-loaded thread that takes a job now: an idle one, else one whose ring has room behind a quick guest. */
  function pick(group: Group, depth: number): SandboxThread | undefined {
    const idle = group.idle.pop();
    if (idle !== undefined) return idle;
    let best: SandboxThread | undefined;
    for (const thread of group.threads) {
      if (thread.inFlight > 0 && thread.acceptsMore(depth) && (best === undefined || thread.inFlight < best.inFlight)) best = thread;
    }
    return best;
  }

  function drain(group: Group): void {
    while (group.queue.length > 0) {
      const thread = pick(group, depthFor(group.queue[0]!));
      if (thread === undefined) return;
      thread.run(group.queue.shift()!);
    }
  }

  function reap(group: Group): void {
    group.idleTimer = undefined;
    if (group.queue.length > 0 || group.idle.length < group.threads.size) return;
    for (const thread of [...group.idle]) thread.terminate();
    groups.delete(group.stackKb);
  }

  function submit(job: SandboxJob, resolve: (result: SandboxResult) => void, deep: boolean): void {
    const group = groupFor(job.stackKb);
    const pending: Pending = { job, resolve, deep };
    const thread = group.queue.length === 0 ? pick(group, depthFor(pending)) : undefined;
    if (thread !== undefined) {
      const lone = mainSpinMicros > 0 && busyThreads() === 0;
      thread.run(pending);
      // Spin for a lone job's answer only after the jobs queued in this turn are dispatched
      // too (a microtask later): spinning inside run() would hold up the rest of a burst.
      if (lone) queueMicrotask(() => busyThreads() === 1 && thread.awaitLoneAnswer(mainSpinMicros));
      return;
    }
    group.queue.push(pending);
    if (group.threads.size < size) spawn(group);
  }

  const initial = groupFor(options.defaultStackKb);
  const initialThreads = Array.from({ length: size }, () => spawn(initial));
  const online = Promise.race([
    Promise.all(initialThreads.map((thread) => thread.ready)).then(() => undefined),
    ...initialThreads.map((thread) => once(thread.worker, 'error').then(([error]) => Promise.reject(error as Error))),
  ]);
  online.catch((error: unknown) => options.logger?.error({ err: error }, 'a sandbox worker failed to start'));

  return {
    run(job) {
      if (closed) {
        return Promise.resolve(unavailable('the sandbox pool is closed'));
      }
      return new Promise<SandboxResult>((resolve) => submit(job, resolve, false));
    },
    submit(job, done) {
      if (closed) {
        done(unavailable('the sandbox pool is closed'));
        return;
      }
      submit(job, done, true);
    },
    // The threads started up front, and any replacement still starting.
    ready: () => online.then(() => Promise.all([...everyThread].map((thread) => thread.ready))).then(() => undefined),
    forget(module) {
      for (const thread of everyThread) thread.forget(module.id);
    },
    stats() {
      let busy = 0;
      let queued = 0;
      let wakes = 0;
      for (const thread of everyThread) wakes += thread.wakes;
      for (const group of groups.values()) {
        queued += group.queue.length;
        for (const thread of group.threads) if (thread.busy) busy++;
      }
      return { workers: everyThread.size, busy, queued, started, replaced, wakes };
    },
    async close() {
      if (closed) return;
      closed = true;
      const exits = [...everyThread].map((thread) => once(thread.worker, 'exit').catch(() => undefined));
      for (const thread of [...everyThread]) thread.terminate();
      for (const group of groups.values()) {
        if (group.idleTimer !== undefined) clearTimeout(group.idleTimer);
        for (const pending of group.queue.splice(0)) {
          pending.resolve(unavailable('the sandbox pool closed before the function ran'));
        }
      }
      await Promise.all(exits);
    },
  };
}
