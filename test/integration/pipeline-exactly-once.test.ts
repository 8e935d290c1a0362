import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog, openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import type { InvocationRecord } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { readValues, waitFor } from '../unit/pipeline/harness.js';

/**
 * DESIGN §5: with exactly_once, a processor killed with SIGKILL mid-stream and restarted leaves a
 * read_committed reader with exactly one result per (event, function), none lost.
 */
const brokers = process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const run = `${process.pid}-${Date.now()}`;
const events = 10_000;
const expectedResults = events + 5000; // `second` takes n < 5000

let log: EventLog;
const children = new Set<ChildProcess>();

/** A child pipeline with the variant's topics, group and stream threads (EOS_THREADS). */
function startChild(variant: Variant, extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./pipeline-eos-child.ts', import.meta.url))], {
    env: { ...process.env, AEROFN_TEST_KAFKA_BROKERS: brokers, EOS_PREFIX: variant.prefix, EOS_GROUP: variant.group, EOS_THREADS: String(variant.threads), ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Follows a child's stdout lines; `until` resolves when one satisfies the check. */
function follow(child: ChildProcess): { until: (check: (line: string) => boolean, timeoutMs: number, what: string) => Promise<void> } {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  return {
    until: (check, timeoutMs, what) =>
      new Promise<void>((resolve, reject) => {
        let seen = 0;
        const timer = setTimeout(() => (waiters.delete(look), reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
        const look = (): void => {
          for (; seen < lines.length; seen += 1) {
            if (check(lines[seen] as string)) {
              clearTimeout(timer);
              waiters.delete(look);
              resolve();
              return;
            }
          }
        };
        waiters.add(look);
        look();
        child.once('exit', () => {
          if (waiters.delete(look)) {
            clearTimeout(timer);
            reject(new Error(`the child exited before ${what}`));
          }
        });
      }),
  };
}

/** Exactly one committed result per (source event, function), and `expected` such pairs. */
function assertOneResultPerPair(results: readonly InvocationRecord[], expected: number): void {
  const perPair = new Map<string, number>();
  for (const record of results) {
    const pair = `${record.source?.partition}/${record.source?.offset}/${record.function}`;
    perPair.set(pair, (perPair.get(pair) ?? 0) + 1);
  }
  const duplicates = [...perPair].filter(([, count]) => count > 1);
  assert.deepEqual(duplicates.slice(0, 5), [], `${duplicates.length} (event, function) pairs have more than one committed result`);
  assert.equal(perPair.size, expected, 'no (event, function) pair is lost');
}

const progressAtLeast = (n: number) => (line: string): boolean => line.startsWith('progress ') && Number(line.slice(9)) >= n;

before(async () => {
  log = await openKafkaEventLog({ brokers: brokers.split(','), clientId: `eos-test-${run}`, logger: silentLogger() });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await log?.close();
});

interface Variant {
  readonly threads: number;
  readonly prefix: string;
  readonly group: string;
}

function variantOf(threads: number): Variant {
  return { threads, prefix: `eos-${run}-t${threads}.`, group: `eos-${run}-t${threads}` };
}

// Each test once with the pipeline on the child's main thread and once in two stream threads
// (docs/pipeline-stream-threads.md): each thread has its own transactional id to fence.
for (const variant of [variantOf(1), variantOf(2)]) {
  const { prefix, group } = variant;
  const changes = `${prefix}aerodb.changes`;
  const inThreads = variant.threads === 1 ? '' : ` (${variant.threads} stream threads)`;
  describe(`pipeline exactly_once on Kafka${inThreads}`, () => {
    it('gives a read_committed reader exactly one result per (event, function) across a SIGKILL', async () => {
      await log.ensureTopic({ name: changes, partitions: 3 });
      const records = Array.from({ length: events }, (_, n) => ({ key: `events:${n % 97}`, value: JSON.stringify({ table: 'events', op: 'INSERT', row: { id: n, n } }) }));
      for (let i = 0; i < records.length; i += 2000) await log.append(changes, records.slice(i, i + 2000));
      const invocations = `${prefix}aerofn.invocations`;
      const committedResults = async (): Promise<number> => (await log.endOffsets(invocations).catch(() => [0])).reduce((a, b) => a + b, 0);

      // Two kills mid-stream: each leaves a transaction open or results not yet committed.
      for (const threshold of [3000, 8000]) {
        const victim = startChild(variant);
        await follow(victim).until((line) => line === 'ready', 120_000, 'ready');
        await waitFor(async () => (await committedResults()) >= threshold, 120_000, `${threshold} results before the kill`);
        victim.kill('SIGKILL');
        await once(victim, 'exit');
      }

      const second = startChild(variant);
      await follow(second).until((line) => line === 'ready', 120_000, 'ready');
      const committed = async (): Promise<number> => [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0);
      await waitFor(async () => (await committed()) === events, 240_000, 'every event committed after the restart');
      second.kill('SIGTERM');
      await once(second, 'exit');

      const results = await readValues<InvocationRecord>(log, invocations);
      assertOneResultPerPair(results, expectedResults);
      assert.equal(results.length, expectedResults);
    });

    it('gives a read_committed reader exactly one result per (event, function) when a second instance joins mid-stream', async () => {
      // Scale-out: partitions move from a busy member to the new one (and, at 2 stream threads,
      // between the threads of each instance as they start). Whatever a member had in flight for
      // them must not be committed after their new owner read the committed offsets. ~2 ms
      // functions; a backlog first (large batches, which the first instance hands back rather than
      // hold the rebalance until they are done), then events arriving live, a few hundred at a time.
      const joinPrefix = `${prefix}join.`;
      const joinGroup = `${group}-join`;
      const joinChanges = `${joinPrefix}aerodb.changes`;
      const backlog = 9000;
      // ~2 ms per event on the instance's one sandbox worker, ~4 ms on each of two threads' workers:
      // the same pace, so that the backlog outlasts the second instance's start in both.
      const busy = { EOS_BUSY_ITERATIONS: String(2_000_000 * variant.threads) };
      await log.ensureTopic({ name: joinChanges, partitions: 4 });
      const records = Array.from({ length: events }, (_, n) => ({ key: `events:${n % 97}`, value: JSON.stringify({ table: 'events', op: 'INSERT', row: { id: n, n } }) }));
      for (let i = 0; i < backlog; i += 2000) await log.append(joinChanges, records.slice(i, Math.min(i + 2000, backlog)));
      const joinVariant = { ...variant, prefix: joinPrefix, group: joinGroup };
      const committed = async (): Promise<number> => [...(await log.committedOffsets(joinGroup, joinChanges)).values()].reduce((a, b) => a + b, 0);
      const first = startChild(joinVariant, { EOS_INSTANCE: 'first', ...busy });
      await follow(first).until((line) => line === 'ready', 120_000, 'the first instance ready');
      await waitFor(async () => (await committed()) >= 200, 120_000, 'the first events committed before the second instance joins');
      const second = startChild(joinVariant, { EOS_INSTANCE: 'second', ...busy });
      await follow(second).until((line) => line === 'ready', 120_000, 'the second instance ready');
      // At 1 thread the first instance is busy with its backlog when the second joins; at 2, its
      // own threads starting (the second joins the first while the first has a few thousand
      // events in flight) is where partitions move while busy, and an instance of two threads
      // takes long enough to start that the backlog is done by then.
      const atJoin = await committed();
      if (variant.threads === 1) assert.ok(atJoin < backlog, `the join did not wait for the first instance's backlog (${atJoin} of ${backlog} committed when it completed)`);
      for (let i = backlog; i < records.length; i += 250) {
        await log.append(joinChanges, records.slice(i, i + 250));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await waitFor(async () => (await committed()) === events, 240_000, 'every event committed by the two instances');
      for (const child of [first, second]) child.kill('SIGTERM');
      await Promise.all([once(first, 'exit'), once(second, 'exit')]);

      assertOneResultPerPair(await readValues<InvocationRecord>(log, `${joinPrefix}aerofn.invocations`), expectedResults);
    });

    it('keeps one result per (event, function) on the embedded log across a SIGKILL', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-eos-embedded-'));
      try {
        const count = 3000;
        const expected = count + 3000; // `second` takes n < 5000, here every event
        // The embedded log is one process's (a lock file): prepare it, then let the children have it.
        const setup = await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
        await setup.ensureTopic({ name: changes, partitions: 2 });
        await setup.append(changes, Array.from({ length: count }, (_, n) => ({ key: `events:${n % 31}`, value: JSON.stringify({ table: 'events', op: 'INSERT', row: { id: n, n } }) })));
        await setup.close();

        const victim = startChild(variant, { EOS_DATA_DIR: dataDir });
        await follow(victim).until(progressAtLeast(600), 120_000, '600 committed before the kill');
        victim.kill('SIGKILL');
        await once(victim, 'exit');
        const last = startChild(variant, { EOS_DATA_DIR: dataDir });
        await follow(last).until(progressAtLeast(count), 240_000, 'every event committed after the restart');
        last.kill('SIGTERM');
        await once(last, 'exit');

        const check = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
        try {
          assertOneResultPerPair(await readValues<InvocationRecord>(check, `${prefix}aerofn.invocations`), expected);
        } finally {
          await check.close();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
}
