/**
 * For code that holds the main thread — spinning for another thread, or answering in a run of
 * microtasks that never yields: how long since the event loop last turned, so timers (timeouts)
 * and I/O are never held up for more than `maxHoldMs`. A setImmediate marks each turn.
 */
export class LoopHold {
  private heldSince = 0;
  private turnPending = false;

  constructor(private readonly maxHoldMs: number) {}

  /** True while the event loop turned less than maxHoldMs ago. */
  mayHold(): boolean {
    if (!this.turnPending) {
      this.turnPending = true;
      this.heldSince = performance.now();
      setImmediate(() => {
        this.turnPending = false;
      });
    }
    return performance.now() - this.heldSince < this.maxHoldMs;
  }
}
