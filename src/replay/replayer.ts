import type { AeroConfig } from '../config/index.js';
import type { DatabaseRole } from '../auth/index.js';
import { FunctionError } from '../errors/index.js';
import { createInvoker, type InvocationRecord } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionDefinition, FunctionLookup } from '../registry/index.js';
import type { HostFunction } from '../wasm/index.js';
import { compareRuns } from './compare-runs.js';
import { JournalHostCalls } from './journal-host-calls.js';
import type { RecordSource, ReplayEvent, ReplayFinding, ReplayQuery, ReplaySummary, ReplayTarget } from './replay-types.js';

export interface ReplayerOptions {
  readonly functions: FunctionLookup;
  /** The records a replay picks from (the service: the function's recent invocations, newest first). */
  readonly records: RecordSource;
  /**
   * Finds records by id that `records` no longer lists (the service: the invocations topic,
   * findInvocationRecords), every attempt of each, oldest first. Without it such ids are NotFound.
   */
  readonly findRecords?: (name: string, ids: readonly string[], signal?: AbortSignal) => Promise<readonly InvocationRecord[]>;
  /** config.sandbox: the replay runs in a sandbox of its own with these limits (one worker). */
  readonly sandbox: AeroConfig['sandbox'];
  /** The live `env` host function: journals hold no secrets, so env answers come from it. */
  readonly liveEnv?: HostFunction;
  readonly logger: Logger;
  /** Replays running at once, each with its own worker thread; more are refused (default 2). */
  readonly maxConcurrent?: number;
}

export interface Replayer {
  /**
   * Runs the chosen records again, oldest first, and compares each with its record. Reports a
   * finding per record through `onEvent` as it goes; stops between records when `signal` aborts.
   * Throws FunctionError NotFound / BadRequest for a query that cannot run.
   */
  replay(query: ReplayQuery, onEvent?: (event: ReplayEvent) => void, signal?: AbortSignal): Promise<ReplaySummary>;
}

export const MAX_REPLAY_RECORDS = 1000;
const DEFAULT_LIMIT = 20;

/**
 * Replay to audit runs (DESIGN §1, §4.5): every invocation record carries its input, its context
 * and the journal of its host calls, so a run can be executed again without the outside world —
 * the database, the network and the environment answer from the journal — and compared with what
 * was recorded. Each replay gets a sandbox of its own (one worker, the configured limits), so it
 * neither shares host functions with live traffic nor takes more than one core from it.
 */
export function createReplayer(options: ReplayerOptions): Replayer {
  const { functions, logger } = options;
  const maxConcurrent = options.maxConcurrent ?? 2;
  let running = 0;

  async function pick(query: ReplayQuery, signal: AbortSignal | undefined): Promise<InvocationRecord[]> {
    const ids = query.invocationIds ?? [];
    const listed = await options.records(query.name, ids.length > 0 ? MAX_REPLAY_RECORDS : (query.limit ?? DEFAULT_LIMIT));
    if (ids.length === 0) return [...listed].reverse();
    // Oldest first (the list is newest first), so ties in the sort below keep the order they ran in.
    const wanted = new Set(ids);
    const chosen = listed.filter((record) => wanted.has(record.id)).reverse();
    const found = new Set(chosen.map((record) => record.id));
    let missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0 && options.findRecords !== undefined) {
      // Older than the recent list: read back from the log.
      const older = await options.findRecords(query.name, missing, signal);
      chosen.push(...older);
      for (const record of older) found.add(record.id);
      missing = missing.filter((id) => !found.has(id));
    }
    if (missing.length > 0) {
      const where = options.findRecords === undefined ? `among the ${listed.length} recent invocations of "${query.name}" this instance keeps` : `of "${query.name}" among its recent invocations or on the invocations topic`;
      throw new FunctionError('NotFound', `no record of ${missing.map((id) => `"${id}"`).join(', ')} ${where}; \`aerofn invocations ${query.name}\` lists the recent ones`);
    }
    // Oldest first, and a retry after the attempt before it (a stable sort).
    return chosen.sort((a, b) => (a.startedAt === b.startedAt ? a.attempt - b.attempt : a.startedAt < b.startedAt ? -1 : 1));
  }

  function check(query: ReplayQuery): ReplayTarget {
    const against = query.against ?? 'recorded';
    if (against !== 'recorded' && against !== 'current') throw new FunctionError('BadRequest', `against must be "recorded" or "current", got "${String(against)}"`);
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPLAY_RECORDS) throw new FunctionError('BadRequest', `limit must be a whole number from 1 to ${MAX_REPLAY_RECORDS}, got ${String(limit)}`);
    const ids = query.invocationIds?.length ?? 0;
    if (ids > MAX_REPLAY_RECORDS) throw new FunctionError('BadRequest', `at most ${MAX_REPLAY_RECORDS} invocation ids per replay, got ${ids}`);
    if (against === 'current' && functions.getFunction(query.name) === undefined) {
      throw new FunctionError('NotFound', `no function named "${query.name}" is deployed to replay against; replay against the recorded versions instead`);
    }
    return against;
  }

  return {
    async replay(query, onEvent = () => {}, signal) {
      const against = check(query);
      // Each replay starts a worker thread of its own: a bound keeps many callers from taking the
      // cores and memory live traffic needs.
      if (running >= maxConcurrent) throw new FunctionError('Unavailable', `${running} replays are running on this instance, the most it runs at once; retry when one has finished`);
      running += 1;
      try {
        return await replayChecked(query, against, onEvent, signal);
      } finally {
        running -= 1;
      }
    },
  };

  async function replayChecked(query: ReplayQuery, against: ReplayTarget, onEvent: (event: ReplayEvent) => void, signal: AbortSignal | undefined): Promise<ReplaySummary> {
    const records = await pick(query, signal);
    onEvent({ type: 'started', total: records.length });
    const journal = new JournalHostCalls(options.liveEnv);
    let serving: FunctionDefinition | undefined;
    const invoker = createInvoker({
      // The definition of the run being replayed, enabled or not: a replay audits, it does not serve.
      functions: { getFunction: () => serving, getModule: (sha256) => functions.getModule(sha256) },
      hostFunctions: journal.hostFunctions,
      config: { ...options.sandbox, workers: 1 },
      // Replayed guests' log lines are in the replayed journal, not the service's log again.
      logger: logger.child({ module: 'replay' }, { level: 'error' }),
      mainSpinMicros: 0,
    });
    const counts = { matched: 0, diverged: 0, skipped: 0 };
    const plans = records.map((record) => plan(record, against, query.name));
    try {
      await invoker.ready();
      let done = 0;
      for (let at = 0; at < plans.length; ) {
        if (signal?.aborted === true) throw new FunctionError('Unavailable', 'the replay was cancelled');
        const batch = batchFrom(plans, at);
        at += batch.plans.length;
        serving = batch.definition === undefined ? undefined : { ...batch.definition, enabled: true };
        const started = performance.now();
        const findings = await Promise.all(batch.plans.map((next) => (next.definition === undefined ? skipped(next.record, next.skip) : replayOne(next.record, next.definition, started))));
        for (const finding of findings) {
          counts[finding.verdict === 'match' ? 'matched' : finding.verdict] += 1;
          done += 1;
          onEvent({ type: 'finding', done, total: records.length, finding });
        }
      }
    } finally {
      await invoker.close();
    }
    const summary: ReplaySummary = { name: query.name, against, total: records.length, ...counts };
    onEvent({ type: 'summary', summary });
    return summary;

    async function replayOne(record: InvocationRecord, definition: FunctionDefinition, started: number): Promise<ReplayFinding> {
      const context = against === 'current' ? { ...record.context, version: definition.version } : record.context;
      journal.begin(context.invocationId, record.journal);
      let replayed: InvocationRecord;
      try {
        replayed = await invoker.invoke({
          functionName: record.function,
          payload: record.input,
          trigger: 'replay',
          rls: { role: context.role as DatabaseRole, sub: context.sub, claims: context.claims },
          context,
          attempt: record.attempt,
        });
      } catch (error) {
        journal.end(context.invocationId);
        return skipped(record, `it could not run: ${(error as Error).message}`);
      }
      const offPath = journal.end(context.invocationId);
      const differences = [...offPath, ...compareRuns(record, replayed, { journal: offPath.length === 0 })];
      return {
        ...base(record),
        replayedVersion: definition.version,
        verdict: differences.length === 0 ? 'match' : 'diverged',
        differences,
        replayed: replayed.outcome,
        durationMs: performance.now() - started,
      };
    }
  }

  /** What to run a record on, or why it is skipped. */
  function plan(record: InvocationRecord, against: ReplayTarget, name: string): Plan {
    if (!record.outcome.ok && record.outcome.error.kind === 'Unavailable') {
      return { record, definition: undefined, skip: `the recorded run did not finish (${record.outcome.error.message.slice(0, 120)}): nothing to compare` };
    }
    const definition = against === 'current' ? functions.getFunction(name) : versionOf(record);
    if (definition === undefined) return { record, definition: undefined, skip: `version ${record.version} of "${record.function}" is not known to the registry any more` };
    return { record, definition };
  }

  function versionOf(record: InvocationRecord): FunctionDefinition | undefined {
    const pinned = functions.getFunctionVersion?.(record.function, record.version);
    if (pinned !== undefined) return pinned;
    const current = functions.getFunction(record.function);
    return current?.version === record.version ? current : undefined;
  }
}

/** A record and the definition it runs on, or why it is skipped. */
type Plan = { readonly record: InvocationRecord; readonly definition: FunctionDefinition } | { readonly record: InvocationRecord; readonly definition: undefined; readonly skip: string };

/** Records replayed at once: they share the sandbox worker's wake-ups instead of paying one each. */
const BATCH = 8;

/**
 * The next batch from `at`: consecutive records that run on one definition (the replay's invoker
 * serves one at a time), each invocation id once (the journal answers calls by id; retries of one
 * event share it), at most BATCH. Skipped records ride along.
 */
function batchFrom(plans: readonly Plan[], at: number): { plans: Plan[]; definition: FunctionDefinition | undefined } {
  const batch: Plan[] = [];
  const ids = new Set<string>();
  let definition: FunctionDefinition | undefined;
  for (let i = at; i < plans.length && batch.length < BATCH; i++) {
    const next = plans[i] as Plan;
    if (next.definition !== undefined) {
      if (definition !== undefined && (next.definition.version !== definition.version || next.definition.sha256 !== definition.sha256)) break;
      if (ids.has(next.record.context.invocationId)) break;
      definition ??= next.definition;
      ids.add(next.record.context.invocationId);
    }
    batch.push(next);
  }
  return { plans: batch, definition };
}

function base(record: InvocationRecord): Pick<ReplayFinding, 'invocationId' | 'attempt' | 'startedAt' | 'recordedVersion' | 'recorded'> {
  return { invocationId: record.id, attempt: record.attempt, startedAt: record.startedAt, recordedVersion: record.version, recorded: record.outcome };
}

function skipped(record: InvocationRecord, why: string): ReplayFinding {
  return { ...base(record), replayedVersion: null, verdict: 'skipped', differences: [why], replayed: null, durationMs: 0 };
}
