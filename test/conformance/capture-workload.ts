import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog, type EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';

/**
 * The change-capture workload the conformance suite and the log-order audit share: 400 inserts,
 * 400 updates and 200 deletes through db_query on an RLS table, each bumping a one-row counter.
 * The counter's row lock orders the commits, and its value in the log must rise by one per
 * transaction — that is how the tests see commit order.
 */
export function captureWorkload(schema: string, counterTable: string): { setupSql: string; ops: Array<{ sql: string; params: unknown[] }> } {
  const s = schema;
  const setupSql = `
    create schema ${s};
    grant usage on schema ${s} to authenticated, service_role;
    create table ${s}.${counterTable} (id int primary key, n int not null);
    insert into ${s}.${counterTable} values (1, 0);
    create table ${s}.items (k text primary key, v int not null default 0, owner uuid default auth.uid());
    alter table ${s}.items enable row level security;
    create policy own on ${s}.items for all to authenticated using (owner = auth.uid()) with check (owner = auth.uid());
    grant select, insert, update, delete on ${s}.items, ${s}.${counterTable} to authenticated, service_role;
  `;
  const bump = `with c as (update ${s}.${counterTable} set n = n + 1 where id = 1 returning n)`;
  const ops: Array<{ sql: string; params: unknown[] }> = [];
  for (let i = 0; i < 400; i += 1) ops.push({ sql: `${bump} insert into ${s}.items (k) select $1 from c`, params: [`k${i}`] });
  for (let i = 0; i < 400; i += 1) ops.push({ sql: `${bump} update ${s}.items set v = v + 1 from c where k = $1`, params: [`k${i}`] });
  for (let i = 0; i < 200; i += 1) ops.push({ sql: `${bump} delete from ${s}.items using c where k = $1`, params: [`k${i}`] });
  return { setupSql, ops };
}

/** A throwaway embedded event log for the relay to append to (both database conformance runs use it). */
export async function openTempEmbeddedLog(): Promise<{ log: EventLog; dispose: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-db-log-'));
  const log = await openEmbeddedEventLog({ dataDir, fsync: false, logger: silentLogger() });
  return {
    log,
    dispose: async () => {
      await log.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
