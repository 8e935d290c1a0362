import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { openKafkaEventLog, type EventLog } from '../../src/eventlog/index.js';
import type { InvocationRecord } from '../../src/invoker/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { readValues, waitFor } from '../unit/pipeline/harness.js';

/**
 * DESIGN §5: with exactly_once, a processor killed with SIGKILL mid-stream and restarted leaves a
 * read_committed reader with exactly one result per (event, function), none lost.
 */
const brokers = process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const run = `${process.pid}-${Date.now()}`;
const prefix = `eos-${run}.`;
const group = `eos-${run}`;
const changes = `${prefix}aerodb.changes`;
const events = 10_000;
const expectedResults = events + 5000; // `second` takes n < 5000

let log: EventLog;
const children = new Set<ChildProcess>();

function startChild(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./pipeline-eos-child.ts', import.meta.url))], {
    env: { ...process.env, AEROFN_TEST_KAFKA_BROKERS: brokers, EOS_PREFIX: prefix, EOS_GROUP: group },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function ready(child: ChildProcess): Promise<void> {
  let buffered = '';
  for await (const chunk of child.stdout!) {
    buffered += String(chunk);
    if (buffered.includes('ready')) return;
  }
  throw new Error('child exited before it was ready');
}

before(async () => {
  log = await openKafkaEventLog({ brokers: brokers.split(','), clientId: `eos-test-${run}`, logger: silentLogger() });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await log?.close();
});

describe('pipeline exactly_once on Kafka', () => {
  it('gives a read_committed reader exactly one result per (event, function) across a SIGKILL', async () => {
    await log.ensureTopic({ name: changes, partitions: 3 });
    const records = Array.from({ length: events }, (_, n) => ({ key: `events:${n % 97}`, value: JSON.stringify({ table: 'events', op: 'INSERT', row: { id: n, n } }) }));
    for (let i = 0; i < records.length; i += 2000) await log.append(changes, records.slice(i, i + 2000));
    const invocations = `${prefix}aerofn.invocations`;
    const committedResults = async (): Promise<number> => (await log.endOffsets(invocations).catch(() => [0])).reduce((a, b) => a + b, 0);

    // Two kills mid-stream: each leaves a transaction open or results not yet committed.
    for (const threshold of [3000, 8000]) {
      const victim = startChild();
      await ready(victim);
      await waitFor(async () => (await committedResults()) >= threshold, 120_000, `${threshold} results before the kill`);
      victim.kill('SIGKILL');
      await once(victim, 'exit');
    }

    const second = startChild();
    await ready(second);
    const committed = async (): Promise<number> => [...(await log.committedOffsets(group, changes)).values()].reduce((a, b) => a + b, 0);
    await waitFor(async () => (await committed()) === events, 240_000, 'every event committed after the restart');
    second.kill('SIGTERM');
    await once(second, 'exit');

    const results = await readValues<InvocationRecord>(log, invocations);
    const perPair = new Map<string, number>();
    for (const record of results) {
      const pair = `${record.source?.partition}/${record.source?.offset}/${record.function}`;
      perPair.set(pair, (perPair.get(pair) ?? 0) + 1);
    }
    const duplicates = [...perPair].filter(([, count]) => count > 1);
    assert.deepEqual(duplicates.slice(0, 5), [], `${duplicates.length} (event, function) pairs have more than one committed result`);
    assert.equal(perPair.size, expectedResults, 'no (event, function) pair is lost');
    assert.equal(results.length, expectedResults);
  });
});
