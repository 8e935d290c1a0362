import { serviceRoleContext } from '../auth/index.js';
import type { AppendRecord, EventLog } from '../eventlog/index.js';
import type { InvocationRecord, Invoker } from '../invoker/index.js';
import type { Logger } from '../observability/index.js';
import type { Registry, RegistryChange, ScheduleEntry } from '../registry/index.js';
import { systemClock, type Clock } from './clock.js';
import { cronSchedule, type CronSchedule } from './cron-schedule.js';
import { createGroupLease, type LeaderLease } from './leader-lease.js';
import { planJob, type MissedPolicy } from './plan-job.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';
import { checkpointJobId, scheduleInvocationId, TickLedger, ticksTopicName, type TickRecord } from './tick-record.js';

export interface SchedulerOptions {
  readonly log: EventLog;
  /** The registry (or anything with its trigger index and change hook): jobs are re-read on every change. */
  readonly jobs: Pick<Registry, 'triggerIndex' | 'onChange'>;
  readonly invoker: Pick<Invoker, 'invoke'>;
  readonly logger: Logger;
  /** Names this instance in tick records. */
  readonly instanceId: string;
  readonly topicPrefix?: string;
  readonly clock?: Clock;
  /** Default: the consumer-group lease on the ticks topic (group `<prefix>aerofn-scheduler`). */
  readonly lease?: LeaderLease;
  readonly leasePollMs?: number;
  /** Runs of one job per wake-up when it catches up (default 100). */
  readonly maxCatchUp?: number;
  /** How late the latest due time may be and still run without catch-up (default 60 s). */
  readonly startingDeadlineMs?: number;
  /**
   * Delete ticks older than this (the ticks topic's retention; undefined or 0 = keep them all).
   * A leader writes a checkpoint of every job's last due time every hour (or a quarter of the
   * retention, if shorter), so a new leader reads only the last two intervals of ticks.
   */
  readonly tickRetentionMs?: number;
  /** Every invocation record a schedule made (main.ts sends them to `aerofn.invocations`). */
  readonly onRecord?: (record: InvocationRecord) => void;
  readonly metrics?: SchedulerMetrics;
}

export interface ScheduledJobStatus {
  readonly jobId: string;
  readonly function: string;
  readonly cron: string;
  readonly timezone: string;
  readonly catchUp: boolean;
  readonly lastScheduledAt: string | null;
  readonly nextDueAt: string | null;
  readonly running: boolean;
}

export interface Scheduler {
  readonly topic: string;
  start(): Promise<void>;
  /** Stops firing, gives up the lease and waits up to `drainMs` for runs in flight. */
  stop(drainMs?: number): Promise<void>;
  isLeader(): boolean;
  /** Resolves once the lease group is joined, no wake-up is being processed and no run is in flight. */
  idle(): Promise<void>;
  status(): ScheduledJobStatus[];
}

interface PendingTick {
  readonly tick: TickRecord;
  readonly job: ScheduleEntry;
  readonly dueAt: number;
}

const RETRY_MS = 1000;
const HOUR_MS = 3_600_000;
/** A checkpoint this long after the start of the read window proves its writer saw everything older (append and clock skew). */
const CHECKPOINT_MARGIN_MS = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The cron scheduler (DESIGN §1, §5): the leader wakes at the next due time across all jobs (one
 * timer), appends a tick per due time to `aerofn.schedule` BEFORE invoking, and runs only the due
 * times whose tick counted in the ticks fold (see TickLedger). A crash after the tick and before
 * the invocation loses that run (at most once per due time; the stable invocation id lets a
 * function make its own effects idempotent). A job whose previous run is still going skips the
 * due time and records an `overlap` tick (Kubernetes' concurrencyPolicy: Forbid).
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { log, jobs, invoker, logger, instanceId } = options;
  const clock = options.clock ?? systemClock;
  const topic = ticksTopicName(options.topicPrefix);
  const lease = options.lease ?? createGroupLease({ log, topic, groupId: `${options.topicPrefix ?? ''}aerofn-scheduler`, logger, ...(options.leasePollMs === undefined ? {} : { pollMs: options.leasePollMs }) });
  const maxCatchUp = options.maxCatchUp ?? 100;
  const startingDeadlineMs = options.startingDeadlineMs ?? 60_000;
  const metrics = options.metrics;
  const ledger = new TickLedger(log, topic);
  const retentionMs = options.tickRetentionMs !== undefined && options.tickRetentionMs > 0 ? options.tickRetentionMs : undefined;
  const checkpointEveryMs = Math.max(60_000, Math.min(HOUR_MS, retentionMs === undefined ? HOUR_MS : Math.floor(retentionMs / 4)));
  let bootstrapped = false;
  let lastCheckpointAt = Number.NEGATIVE_INFINITY;
  const schedules = new Map<string, CronSchedule | null>();
  /** When a function was enabled again, seen live: its disabled period is not "missed". */
  const enabledAt = new Map<string, number>();
  const running = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  let entries: readonly ScheduleEntry[] = [];
  let leading = false;
  let stopped = false;
  let timer: unknown;
  let cycling: Promise<void> | null = null;
  let again = false;
  let unsubscribe: () => void = () => undefined;
  let leaseStarted: Promise<void> = Promise.resolve();

  const scheduleOf = (job: ScheduleEntry): CronSchedule | null => {
    const timezone = job.trigger.timezone ?? 'UTC';
    const key = `${job.trigger.cron}\u0000${timezone}`;
    if (!schedules.has(key)) {
      try {
        schedules.set(key, cronSchedule(job.trigger.cron, timezone));
      } catch (error) {
        // Deploy validation refuses these; a record from an older, laxer version is skipped, loudly.
        logger.error({ err: error, jobId: job.jobId, cron: job.trigger.cron, timezone }, 'cannot parse this cron expression; the job will not run until it is redeployed');
        schedules.set(key, null);
      }
    }
    return schedules.get(key) ?? null;
  };

  /**
   * The last due time accounted for. Due times before the serving version was deployed never
   * belong to it: a redeploy with a new cron does not run the new cron's past due times.
   */
  const baseline = (job: ScheduleEntry): number => {
    const deployedAt = Date.parse(job.function.deployedAt);
    const last = ledger.lastScheduledAt(job.jobId);
    return Math.max(last ?? Number.NEGATIVE_INFINITY, Number.isFinite(deployedAt) ? deployedAt : clock.now(), enabledAt.get(job.function.name) ?? Number.NEGATIVE_INFINITY);
  };

  const policyOf = (job: ScheduleEntry): MissedPolicy => ({ catchUp: job.trigger.catchUp ?? false, maxCatchUp, startingDeadlineMs });

  const tickOf = (job: ScheduleEntry, kind: TickRecord['kind'], dueAt: number, firedAt: number, extra: Partial<TickRecord> = {}): TickRecord => ({
    kind,
    jobId: job.jobId,
    function: job.function.name,
    version: job.function.version,
    scheduledAt: iso(dueAt),
    firedAt: iso(firedAt),
    invocationId: kind === 'run' ? scheduleInvocationId(job.jobId, dueAt) : null,
    instance: instanceId,
    ...extra,
  });

  const run = async (job: ScheduleEntry, tick: TickRecord, dueAt: number): Promise<void> => {
    const startedAt = clock.now();
    metrics?.lag(Math.max(0, startedAt - dueAt) / 1000);
    try {
      const record = await invoker.invoke({
        functionName: job.function.name,
        payload: JSON.stringify({ timestamp: iso(startedAt), jobId: job.jobId, scheduledAt: tick.scheduledAt }),
        trigger: 'schedule',
        rls: serviceRoleContext,
        invocationId: tick.invocationId ?? scheduleInvocationId(job.jobId, dueAt),
      });
      metrics?.count(job.function.name, record.outcome.ok ? 'ok' : record.outcome.error.kind);
      options.onRecord?.(record);
    } catch (error) {
      // NotFound when the function was undeployed between the tick and the call.
      metrics?.count(job.function.name, (error as { kind?: string }).kind ?? 'error');
      logger.warn({ err: error, jobId: job.jobId, scheduledAt: tick.scheduledAt }, 'a scheduled run could not be invoked');
    }
  };

  /** Runs of one job go one after the other (catch-up), never side by side. */
  const launch = (pending: PendingTick): void => {
    const jobId = pending.job.jobId;
    const previous = running.get(jobId) ?? Promise.resolve();
    const next = previous.then(() => run(pending.job, pending.tick, pending.dueAt));
    running.set(jobId, next);
    inFlight.add(next);
    void next.finally(() => {
      inFlight.delete(next);
      if (running.get(jobId) === next) running.delete(jobId);
    });
  };

  const cycle = async (): Promise<void> => {
    if (!bootstrapped) {
      // A new leader: what the last one knew, from its latest checkpoint on (or the whole topic).
      const began = clock.now();
      const read = await ledger.bootstrap(began - 2 * checkpointEveryMs - CHECKPOINT_MARGIN_MS, CHECKPOINT_MARGIN_MS);
      bootstrapped = true;
      lastCheckpointAt = Number.NEGATIVE_INFINITY;
      logger.info({ topic, read, fromOffset: read === 'window' ? undefined : 0, throughOffset: ledger.position }, 'scheduler read the ticks of the previous leaders');
    } else {
      await ledger.catchUp();
    }
    const now = clock.now();
    const pending: PendingTick[] = [];
    let planned = 0;
    for (const job of entries) {
      // Planning is synchronous CPU work (cron-parser); let requests through between jobs.
      if (++planned % 32 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const schedule = scheduleOf(job);
      if (schedule === null) continue;
      const plan = planJob(schedule, baseline(job), now, policyOf(job));
      if (plan.skipped !== null) {
        const { count, countCapped, from, to } = plan.skipped;
        pending.push({ job, dueAt: to, tick: tickOf(job, 'skipped', to, now, { count, countCapped, from: iso(from) }) });
      }
      const busy = running.has(job.jobId);
      for (const dueAt of plan.runs) pending.push({ job, dueAt, tick: tickOf(job, busy ? 'overlap' : 'run', dueAt, now) });
    }
    const records: AppendRecord[] = pending.map(({ tick }) => ({ key: tick.jobId, value: JSON.stringify(tick), headers: { 'aerofn-tick': tick.kind }, timestamp: now }));
    if (now - lastCheckpointAt >= checkpointEveryMs) {
      // Before this wake-up's ticks: together with them the log then holds the state as of now.
      const checkpoint: TickRecord = { kind: 'checkpoint', jobId: checkpointJobId, function: '', version: 0, scheduledAt: iso(now), firedAt: iso(now), invocationId: null, instance: instanceId, last: ledger.snapshot() };
      records.unshift({ key: checkpointJobId, value: JSON.stringify(checkpoint), headers: { 'aerofn-tick': 'checkpoint' }, timestamp: now });
    }
    if (records.length === 0 || !leading) return;
    const appended = await log.append(topic, records);
    const checkpointed = records.length > pending.length;
    if (checkpointed) lastCheckpointAt = now;
    const byOffset = new Map<number, PendingTick>();
    appended.slice(checkpointed ? 1 : 0).forEach((result, i) => byOffset.set(result.offset, pending[i]!));
    const until = Math.max(...appended.map((r) => r.offset)) + 1;
    const toRun: PendingTick[] = [];
    await ledger.catchUp(until, (record, counted) => {
      const mine = byOffset.get(record.offset);
      if (mine === undefined) return;
      const fn = mine.job.function.name;
      if (!counted) {
        metrics?.count(fn, 'lost');
        logger.info({ jobId: mine.job.jobId, scheduledAt: mine.tick.scheduledAt }, 'another instance claimed this due time first; not running it here');
      } else if (mine.tick.kind === 'run') {
        toRun.push(mine);
      } else if (mine.tick.kind === 'skipped') {
        metrics?.count(fn, 'skipped', mine.tick.count ?? 1);
        logger.warn({ jobId: mine.job.jobId, count: mine.tick.count, from: mine.tick.from, to: mine.tick.scheduledAt, catchUp: mine.job.trigger.catchUp ?? false }, 'missed due times recorded as skipped');
      } else {
        metrics?.count(fn, 'overlap');
        logger.warn({ jobId: mine.job.jobId, scheduledAt: mine.tick.scheduledAt }, 'the previous run is still going; this due time is skipped (concurrency: forbid)');
      }
    });
    for (const pendingRun of toRun) launch(pendingRun);
  };

  const arm = (retry: boolean): void => {
    if (timer !== undefined) clock.cancelTimer(timer);
    timer = undefined;
    if (!leading || stopped) return;
    if (retry) {
      timer = clock.setTimer(clock.now() + RETRY_MS, kick);
      return;
    }
    // Wake up for checkpoints too: with retention, a monthly job's last tick must outlive its ticks.
    let next = entries.length > 0 && Number.isFinite(lastCheckpointAt) ? lastCheckpointAt + checkpointEveryMs : Number.POSITIVE_INFINITY;
    for (const job of entries) {
      const due = scheduleOf(job)?.nextAfter(baseline(job));
      if (due !== undefined && due < next) next = due;
    }
    if (Number.isFinite(next)) timer = clock.setTimer(next, kick);
  };

  function kick(): void {
    if (!leading || stopped) return;
    if (cycling !== null) {
      again = true;
      return;
    }
    let failed = false;
    cycling = (async () => {
      do {
        again = false;
        try {
          await cycle();
          failed = false;
        } catch (error) {
          failed = true;
          logger.error({ err: error, topic }, 'scheduler wake-up failed; trying again in a second');
        }
      } while (again && leading && !stopped);
    })().finally(() => {
      cycling = null;
      arm(failed);
    });
  }

  const refresh = (change: RegistryChange): void => {
    if (change.event?.type === 'FunctionEnabled') {
      const at = Date.parse(change.event.at);
      if (Number.isFinite(at)) enabledAt.set(change.event.name, at);
    }
    entries = jobs.triggerIndex().schedules;
    kick();
  };

  return {
    topic,
    async start() {
      // Kafka may answer a create with a transient error while the partition's leader is elected.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await log.ensureTopic({ name: topic, partitions: 1, ...(retentionMs === undefined ? {} : { retentionMs }) });
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
          logger.warn({ err: error, topic, attempt }, 'creating the ticks topic failed; trying again');
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
      entries = jobs.triggerIndex().schedules;
      unsubscribe = jobs.onChange(refresh);
      lease.onChange((leader) => {
        leading = leader;
        metrics?.leader(leader);
        if (leader) bootstrapped = false;
        if (leader) kick();
        else arm(false);
      });
      // Joining the group can wait for a rebalance (up to the others' next heartbeat): serving
      // does not wait for it; this instance fires once the lease is its.
      leaseStarted = lease.start().then(
        () => logger.info({ topic, jobs: entries.length, leader: lease.isLeader() }, 'scheduler joined the lease group'),
        (error: unknown) => logger.error({ err: error, topic }, 'the scheduler could not join its lease group; this instance will not fire schedules'),
      );
    },
    async stop(drainMs = 10_000) {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      if (timer !== undefined) clock.cancelTimer(timer);
      await cycling;
      await leaseStarted;
      await lease.close();
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => (bound = setTimeout(resolve, drainMs)))]);
      clearTimeout(bound);
    },
    isLeader: () => leading,
    async idle() {
      await leaseStarted;
      while (cycling !== null || inFlight.size > 0) await Promise.allSettled([cycling, ...inFlight]);
    },
    status: () =>
      entries.map((job) => {
        const last = ledger.lastScheduledAt(job.jobId);
        const next = scheduleOf(job)?.nextAfter(baseline(job));
        return {
          jobId: job.jobId,
          function: job.function.name,
          cron: job.trigger.cron,
          timezone: job.trigger.timezone ?? 'UTC',
          catchUp: job.trigger.catchUp ?? false,
          lastScheduledAt: last === undefined ? null : iso(last),
          nextDueAt: next === undefined ? null : iso(next),
          running: running.has(job.jobId),
        };
      }),
  };
}
