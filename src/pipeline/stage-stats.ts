/**
 * Counters of one topology node. Latency keeps the last `window` samples in a ring: p50/p99 over
 * recent work is what an operator wants to see, and a ring costs no allocation per sample.
 */
export class StageStats {
  in = 0;
  out = 0;
  errors = 0;
  inFlight = 0;
  private readonly samples: Float64Array;
  private count = 0;

  constructor(readonly name: string, window = 2048) {
    this.samples = new Float64Array(window);
  }

  private tick = 0;

  /**
   * For stages that take microseconds per record: time one record in `every`, so the clock
   * reads cost nothing measurable while p50/p99 still describe the stage.
   */
  sample(every = 16): boolean {
    this.tick = (this.tick + 1) % every;
    return this.tick === 0;
  }

  observe(ms: number): void {
    this.samples[this.count % this.samples.length] = ms;
    this.count += 1;
  }

  percentile(p: number): number | null {
    return percentileOf(this.recentSamples(), p);
  }

  /** The latency samples in the ring (stream threads join them before taking percentiles). */
  recentSamples(): number[] {
    return Array.from(this.samples.subarray(0, Math.min(this.count, this.samples.length)));
  }

  snapshot(): StageSnapshot {
    const round = roundMs;
    return {
      name: this.name,
      in: this.in,
      out: this.out,
      errors: this.errors,
      inFlight: this.inFlight,
      p50Ms: round(this.percentile(50)),
      p99Ms: round(this.percentile(99)),
    };
  }
}

/** The p-th percentile (nearest rank) of `samples`; null when there are none. */
export function percentileOf(samples: readonly number[], p: number): number | null {
  const n = samples.length;
  if (n === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[index] ?? null;
}

/** Milliseconds to three decimals, as every snapshot shows them. */
export function roundMs(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}

export interface StageSnapshot {
  readonly name: string;
  readonly in: number;
  readonly out: number;
  readonly errors: number;
  readonly inFlight: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}
