import { REDACTED_RESPONSE, type HostCallContext, type HostCallRecord, type HostFunction, type HostFunctionName, type HostFunctions } from '../wasm/index.js';
import { shown } from './compare-runs.js';

/** Thrown into the guest's host call: the replay cannot answer a call the recorded run did not make. */
export class UnrecordedCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecordedCallError';
  }
}

interface Cursor {
  readonly calls: readonly HostCallRecord[];
  next: number;
  readonly differences: string[];
}

/**
 * Host functions that answer from a recorded run's journal instead of the outside world: the
 * n-th db_query / http_fetch / env call of the replay gets the n-th such call's recorded answer
 * (or its recorded failure), so the guest sees what it saw then and nothing is written or fetched
 * again. A call that is not the recorded one (another function, another request) is a divergence:
 * it is noted and the call fails, as the run has left the recorded path. Journals never hold
 * secrets, so an env answer comes from `liveEnv` (the instance's allow-listed environment now).
 */
export class JournalHostCalls {
  private readonly runs = new Map<string, Cursor>();

  constructor(private readonly liveEnv?: HostFunction) {}

  /** Starts answering for one replayed run (its host-call id), from its recorded journal. */
  begin(hostCallId: string, journal: readonly HostCallRecord[]): void {
    const calls = journal.filter((entry) => entry.fn === 'db_query' || entry.fn === 'http_fetch' || entry.fn === 'env');
    this.runs.set(hostCallId, { calls, next: 0, differences: [] });
  }

  /** Ends a run; returns what differed, including recorded calls the replay never made. */
  end(hostCallId: string): string[] {
    const run = this.runs.get(hostCallId);
    this.runs.delete(hostCallId);
    if (run === undefined) return [];
    const missing = run.calls.length - run.next;
    if (missing > 0 && run.differences.length === 0) {
      const first = run.calls[run.next] as HostCallRecord;
      run.differences.push(`the recorded run made ${missing} more host call(s), starting with ${first.fn} ${shown(first.request)}`);
    }
    return run.differences;
  }

  readonly hostFunctions: HostFunctions = {
    db_query: (request, context) => this.answer('db_query', request, context),
    http_fetch: (request, context) => this.answer('http_fetch', request, context),
    env: (request, context) => this.answer('env', request, context),
  };

  private async answer(fn: HostFunctionName, bytes: Uint8Array, context: HostCallContext): Promise<string | null | Uint8Array> {
    const run = this.runs.get(context.invocationId);
    const request = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    if (run === undefined) throw new UnrecordedCallError(`replay: no recorded run for ${context.invocationId}`);
    const index = run.next;
    const recorded = run.calls[index];
    if (recorded === undefined) {
      return this.diverge(run, `host call ${index + 1}: the replay called ${fn} ${shown(request)}; the recorded run made no more host calls`);
    }
    if (recorded.fn !== fn || recorded.request !== request) {
      return this.diverge(run, `host call ${index + 1}: the replay called ${fn} ${shown(request)}; the recorded run called ${recorded.fn} ${shown(recorded.request)}`);
    }
    run.next += 1;
    if (recorded.error !== undefined) throw new Error(recorded.error);
    if (fn === 'env' && recorded.response === REDACTED_RESPONSE) {
      if (this.liveEnv === undefined) return REDACTED_RESPONSE;
      return this.liveEnv(bytes, context);
    }
    return recorded.response;
  }

  private diverge(run: Cursor, difference: string): never {
    if (run.differences.length === 0) run.differences.push(difference);
    throw new UnrecordedCallError(`replay: ${difference}`);
  }
}
