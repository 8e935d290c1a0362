/**
 * Time for the scheduler: read the clock and arm one timer at an absolute time. The system clock
 * is the default; tests drive a ManualClock in virtual time, so a day of schedules runs without
 * a single real sleep.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once at or after `atMs` (epoch ms); returns a handle for cancel. */
  setTimer(atMs: number, fn: () => void): unknown;
  cancelTimer(handle: unknown): void;
}

/**
 * setTimeout is capped well below its 2^31 ms limit: a far due time (a yearly job) is reached by
 * waking up every minute and re-arming, which also follows wall-clock jumps (NTP steps).
 */
const MAX_TIMER_MS = 60_000;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(atMs, fn) {
    const handle: { timer?: NodeJS.Timeout } = {};
    const arm = (): void => {
      const wait = atMs - Date.now();
      if (wait <= 0) return fn();
      handle.timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    };
    handle.timer = setTimeout(arm, Math.max(0, Math.min(atMs - Date.now(), MAX_TIMER_MS)));
    return handle;
  },
  cancelTimer(handle) {
    clearTimeout((handle as { timer?: NodeJS.Timeout }).timer);
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when told: timers fire in time order as `advance` passes them. */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(startMs: number) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(atMs: number, fn: () => void): unknown {
    const timer = { at: atMs, seq: this.seq++, fn };
    this.timers.push(timer);
    return timer;
  }

  cancelTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** How many timers are armed (the scheduler keeps one, however many jobs it has). */
  timerCount(): number {
    return this.timers.length;
  }

  /** The earliest armed timer's time, if any. */
  nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined);
  }

  /**
   * Moves time forward by `ms`, firing each timer at its own time in order; after each one,
   * `settle` lets the async work it started finish (e.g. the scheduler's `idle()`).
   */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
      await settle();
    }
    this.current = end;
    await settle();
  }
}
