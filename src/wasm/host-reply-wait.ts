import { hostCallNames, Slot } from './sandbox-protocol.js';

/*
 * The worker's side of a host call, after the request is posted: how it waits for the reply, and
 * how it recognises a refusal. Loaded inside the sandbox worker (see worker-source.ts).
 */

/**
 * Waiting for a host-call reply while the job is alone (HOST_SPIN): sleep through the part of the
 * wait that can be predicted — the shortest of this host function's last replies, less a margin
 * for the timer's slack and the wake-up — then spin (up to `spinMs`) for the rest, and sleep in
 * Atomics.wait only after that. Spinning through a whole 400 µs statement takes a core from the
 * main thread and the database on a 2-vCPU machine (the statement ran up to 3× slower under
 * load), while waking a sleeping thread by notify costs 50-130 µs when its vCPU went idle; a
 * timer that wakes the worker shortly before the reply costs neither.
 *
 * Spinning only pays while this thread and the main thread run on different cores. On a busy
 * machine they often share one, and then a spinning worker keeps the main thread from writing
 * the very reply it waits for (and a wake-up is cheap there: no idle vCPU to rouse). So the
 * worker keeps a score of whether its spins saw the reply in its usual time (at most SPIN_HIT_MS
 * later than the shortest recent reply: a later one was most likely held up by the spin itself);
 * after SPIN_MISSES_TO_STOP spins in a
 * row that did not, it sleeps right away, trying a spin again every SPIN_RETRY_EVERY calls.
 */
/**
 * Wake this long before the shortest recent reply: the timer's slack (50 µs by default on Linux)
 * plus waking on an idle vCPU (50-130 µs here). At 0.2 ms, PostgreSQL replies that vary by a
 * few hundred µs often came while the worker still slept, and its wake-up (20-40 µs) landed on
 * the call.
 */
const WAKE_MARGIN_MS = 0.35;
const MIN_SLEEP_MS = 0.1;
const REPLY_HISTORY = 16;
const SPIN_MISSES_TO_STOP = 2;
/** A spin counts as a hit when the reply came at most this much later than the shortest recent one (twice the wake margin). */
const SPIN_HIT_MS = 2 * WAKE_MARGIN_MS;
const SPIN_RETRY_EVERY = 16;

export class ReplyWaiter {
  private readonly replyTimes = new Float64Array(hostCallNames.length * REPLY_HISTORY);
  private readonly repliesSeen = new Array<number>(hostCallNames.length).fill(0);
  private spinMisses = 0;
  private callsSinceSpin = 0;

  constructor(
    private readonly ctrl: Int32Array,
    private readonly spinMs: number,
  ) {}

  /**
   * Returns once HOST_REPLY moved past `lastReply`; `fn` is the host function's index in
   * hostCallNames, `posted` the performance.now() when the request was posted. `cells[index]` is
   * waited on instead when given (a db_query posted to the PGlite thread's channel).
   */
  await(fn: number, lastReply: number, posted: number, cells: Int32Array = this.ctrl, index: number = Slot.HOST_REPLY): void {
    const { ctrl } = this;
    if (this.spinMs > 0 && Atomics.load(ctrl, Slot.HOST_SPIN) === 1 && this.maySpin()) {
      const shortest = this.shortestRecentReply(fn);
      const sleepMs = shortest - WAKE_MARGIN_MS - (performance.now() - posted);
      if (sleepMs >= MIN_SLEEP_MS) Atomics.wait(cells, index, lastReply, sleepMs);
      const until = performance.now() + this.spinMs;
      while (Atomics.load(cells, index) === lastReply && performance.now() < until);
      // A reply much later than this host function's usual ones most likely waited for the
      // thread answering it, which the spin kept off this core. Measured from the request, not
      // from the spin's start: a statement that varies by a few hundred µs (PostgreSQL) is no miss.
      const hit = Atomics.load(cells, index) !== lastReply && performance.now() - posted <= shortest + SPIN_HIT_MS;
      this.spinMisses = hit ? 0 : this.spinMisses + 1;
    }
    // In a loop: a notify that belongs to the previous reply can arrive late (its sender was
    // descheduled between moving the cell and notifying it), after this thread already saw that
    // reply by spinning and posted its next request. Taken as this reply, it handed the guest its
    // own request back (seen once in ~20,000 db_query calls on a busy machine).
    while (Atomics.load(cells, index) === lastReply) Atomics.wait(cells, index, lastReply);
    const seen = this.repliesSeen[fn] as number;
    this.replyTimes[fn * REPLY_HISTORY + (seen % REPLY_HISTORY)] = performance.now() - posted;
    this.repliesSeen[fn] = seen + 1;
  }

  /** Whether spinning has been seeing replies lately (or it is time to try again). */
  private maySpin(): boolean {
    if (this.spinMisses < SPIN_MISSES_TO_STOP || ++this.callsSinceSpin >= SPIN_RETRY_EVERY) {
      this.callsSinceSpin = 0;
      return true;
    }
    return false;
  }

  /** The shortest of the last REPLY_HISTORY replies of host function `fn` (0 until there are 4). */
  shortestRecentReply(fn: number): number {
    const count = Math.min(this.repliesSeen[fn] as number, REPLY_HISTORY);
    if (count < 4) return 0;
    let shortest = Infinity;
    for (let i = fn * REPLY_HISTORY, end = i + count; i < end; i++) shortest = Math.min(shortest, this.replyTimes[i] as number);
    return shortest;
  }
}

const errorKey = new TextEncoder().encode('"error"');
const isSpace = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Whether an answer starts `{"error"` (whitespace allowed around the brace); no allocation per call. */
export function isErrorAnswer(bytes: Uint8Array): boolean {
  let i = 0;
  while (isSpace(bytes[i])) i++;
  if (bytes[i++] !== 0x7b) return false;
  while (isSpace(bytes[i])) i++;
  for (let k = 0; k < errorKey.length; k++) if (bytes[i + k] !== errorKey[k]) return false;
  return true;
}
