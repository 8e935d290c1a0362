// Acceptance audit, issue 3: "1,000 inserts/updates/deletes through db_query produce 1,000 change
// events in commit order, none twice, on both adapters". The conformance suite sorts the relayed
// records by their outbox id before it checks the order; this test checks the order the log itself
// holds (offset order on the topic's one partition), with two relays (two service instances on one
// database) moving the outbox at the same time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RlsContext } from '../../src/auth/index.js';
import { createChangeRelay, openDatabase, outboxIdHeader, type Database } from '../../src/db/index.js';
import { openEmbeddedEventLog, type LogRecord } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createDbQuery } from '../../src/wasm/host/index.js';
import { callJson, hostContext } from '../unit/host/host-context.js';
import { withDatabase } from './postgres-test-db.js';
import { captureWorkload } from '../conformance/capture-workload.js';

const user = randomUUID();
const asUser: RlsContext = { role: 'authenticated', sub: user, claims: { role: 'authenticated', sub: user } };

async function captureInLogOrder(db: Database, writers: number): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-audit-capture-'));
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  try {
    const s = `audit_${randomBytes(4).toString('hex')}`;
    const topic = `${s}.changes`;
    const { setupSql, ops } = captureWorkload(s, 'seq');
    await db.adminScript(setupSql);
    await db.enableChangeCapture(`${s}.seq`);
    await db.enableChangeCapture(`${s}.items`);
    const dbQuery = createDbQuery({ database: db });

    // Two relays, as two instances of the service on one database would run them.
    const relays = [0, 1].map(() => createChangeRelay({ database: db, eventLog: log, topic, logger: silentLogger(), batchSize: 37, pollIntervalMs: 1 }));
    for (const relay of relays) relay.start();
    const context = hostContext({ rls: asUser, deadline: Date.now() + 120_000 });
    for (const [from, to] of [[0, 400], [400, 800], [800, 1000]] as const) {
      let next = from;
      await Promise.all(Array.from({ length: writers }, async () => {
        while (next < to) {
          const op = ops[next]!;
          next += 1;
          const answer = await callJson(dbQuery, op, context);
          assert.equal(answer['rowCount'], 1, JSON.stringify(answer));
        }
      }));
    }
    for (const relay of relays) await relay.stop();
    await relays[0]!.drain();

    assert.equal((await log.partitionCount(topic)), 1);
    const records: LogRecord[] = [];
    const end = (await log.endOffsets(topic))[0] ?? 0;
    for (let offset = 0; offset < end; ) {
      const batch = await log.read(topic, 0, offset, { maxRecords: 500 });
      if (batch.length === 0) break;
      records.push(...batch);
      offset = batch[batch.length - 1]!.offset + 1;
    }
    // In the order the log holds them, no sorting.
    const events = records.map((record) => JSON.parse(String(record.value)) as { table: string; op: string; row: Record<string, unknown>; txId: string });
    const outboxIds = records.map((record) => BigInt(record.headers[outboxIdHeader] ?? '-1'));
    assert.equal(new Set(outboxIds).size, outboxIds.length, 'no change appended twice');
    for (let i = 1; i < outboxIds.length; i += 1) assert.ok(outboxIds[i]! > outboxIds[i - 1]!, `offset ${i}: outbox id ${outboxIds[i]} after ${outboxIds[i - 1]}`);
    const seq = events.filter((event) => event.table === 'seq').map((event) => event.row['n']);
    assert.deepEqual(seq, Array.from({ length: 1000 }, (_, i) => i + 1), 'transactions appear in the log in commit order');
    const items = events.filter((event) => event.table === 'items');
    assert.equal(items.length, 1000);
    assert.deepEqual(['INSERT', 'UPDATE', 'DELETE'].map((op) => items.filter((event) => event.op === op).length), [400, 400, 200]);
    // Each transaction's two changes are adjacent in the log.
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i]!.txId, events[i + 1]!.txId, `offsets ${i} and ${i + 1}`);
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('audit: captured changes land in the log in commit order, once each', () => {
  it('on PGlite', async () => {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir: '', inMemory: true, logger: silentLogger() });
    try {
      await captureInLogOrder(db, 4);
    } finally {
      await db.close();
    }
  });

  it('on PostgreSQL', async () => {
    const { url, drop } = await withDatabase(`aerofn_audit_${randomBytes(4).toString('hex')}`);
    const db = await openDatabase({ config: { database: { url, poolSize: 8 } }, dataDir: '', logger: silentLogger() });
    try {
      await captureInLogOrder(db, 6);
    } finally {
      await db.close();
      await drop();
    }
  });
});
