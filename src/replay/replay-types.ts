import type { InvocationOutcome, InvocationRecord } from '../invoker/index.js';

/** Which module a recorded run is replayed against. */
export type ReplayTarget = 'recorded' | 'current';

export interface ReplayQuery {
  readonly name: string;
  /** The newest `limit` records of the function (default 20); ignored when `invocationIds` is set. */
  readonly limit?: number;
  /** Exactly these invocations (every attempt of each that is still listed). */
  readonly invocationIds?: readonly string[];
  /**
   * `recorded` (default): the version each run was recorded with, to audit it. `current`: the
   * version serving now, to see whether a new version answers old inputs as the old one did.
   */
  readonly against?: ReplayTarget;
}

/** `match`: same outcome and host calls; `diverged`: they differ; `skipped`: nothing to compare. */
export type ReplayVerdict = 'match' | 'diverged' | 'skipped';

export interface ReplayFinding {
  readonly invocationId: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly recordedVersion: number;
  /** The version that ran in the replay (null when skipped before running). */
  readonly replayedVersion: number | null;
  readonly verdict: ReplayVerdict;
  /** What differs, first difference first; for `skipped`, why. */
  readonly differences: readonly string[];
  readonly recorded: InvocationOutcome;
  readonly replayed: InvocationOutcome | null;
  readonly durationMs: number;
}

export interface ReplaySummary {
  readonly name: string;
  readonly against: ReplayTarget;
  readonly total: number;
  readonly matched: number;
  readonly diverged: number;
  readonly skipped: number;
}

/** What a replay reports as it goes: a finding per record, then the summary. */
export type ReplayEvent =
  | { readonly type: 'started'; readonly total: number }
  | { readonly type: 'finding'; readonly done: number; readonly total: number; readonly finding: ReplayFinding }
  | { readonly type: 'summary'; readonly summary: ReplaySummary };

/** Where the records come from (the service: the function's recent invocations). */
export type RecordSource = (name: string, limit: number) => Promise<readonly InvocationRecord[]>;
