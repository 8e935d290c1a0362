import { LoopHold } from '../../event-loop/index.js';
import { Cell } from './thread-channel.js';

/**
 * How the main thread waits for a reply: it spins for about a quick statement's time (a wake-up
 * from the event loop costs 50-130 µs on this VM) — twice the shortest of the last REPLY_HISTORY
 * replies, at most REPLY_SPIN_MS — then waits on the event loop. A slow statement holds the loop
 * no longer than that (on the main thread PGlite held it for the whole statement), and after
 * MAX_HOLD_MS of replies in a row the loop turns once before the next one. A spin that missed
 * most likely shared its core with the PGlite thread and held it up: after SPIN_MISSES_TO_STOP
 * misses in a row the main thread stops spinning, trying again every SPIN_RETRY_EVERY requests.
 */
const REPLY_SPIN_MS = 1;
const MAX_HOLD_MS = 2;
const REPLY_HISTORY = 16;
const SPIN_MISSES_TO_STOP = 2;
const SPIN_RETRY_EVERY = 16;

/** The main thread's wait for its own channel's replies (pglite-thread-driver.ts). */
export class MainReplyWait {
  private readonly replyTimes = new Float64Array(REPLY_HISTORY);
  private replies = 0;
  private spinMisses = 0;
  private sinceSpin = 0;
  private readonly loop = new LoopHold(MAX_HOLD_MS);
  private wakeOnExit: (() => void) | undefined;

  constructor(
    private readonly cells: Int32Array,
    private readonly gone: () => Error | undefined,
  ) {}

  /** Ends a wait on the event loop at once (the thread exited; the channel was answered). */
  wake(): void {
    this.wakeOnExit?.();
  }

  /** Returns once DONE reaches `posted` (request posted at `postedAt`, performance.now()). */
  async until(posted: number, postedAt: number): Promise<void> {
    const { cells } = this;
    const budget = this.spinBudget();
    if (budget > 0) {
      const until = postedAt + budget;
      while (Atomics.load(cells, Cell.DONE) !== posted && performance.now() < until);
      this.spinMisses = Atomics.load(cells, Cell.DONE) === posted ? 0 : this.spinMisses + 1;
    }
    if (Atomics.load(cells, Cell.DONE) === posted) {
      this.replyTimes[this.replies++ % REPLY_HISTORY] = performance.now() - postedAt;
      // Answered within the spin: resolve at once, unless the loop has not turned for a while.
      if (!this.loop.mayHold()) await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    while (Atomics.load(cells, Cell.DONE) !== posted) {
      const gone = this.gone();
      if (gone !== undefined) throw gone;
      const waiting = Atomics.waitAsync(cells, Cell.DONE, posted - 1);
      if (!waiting.async) continue;
      await Promise.race([waiting.value, new Promise<void>((resolve) => (this.wakeOnExit = resolve))]);
    }
    this.replyTimes[this.replies++ % REPLY_HISTORY] = performance.now() - postedAt;
  }

  private spinBudget(): number {
    if (this.spinMisses >= SPIN_MISSES_TO_STOP && ++this.sinceSpin < SPIN_RETRY_EVERY) return 0;
    this.sinceSpin = 0;
    if (this.replies < 4) return REPLY_SPIN_MS;
    let shortest = Infinity;
    for (let i = 0; i < Math.min(this.replies, REPLY_HISTORY); i++) shortest = Math.min(shortest, this.replyTimes[i] as number);
    return Math.min(REPLY_SPIN_MS, 2 * shortest);
  }
}
