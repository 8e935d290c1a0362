import type { DatabaseRole, RlsContext } from '../auth/index.js';
import type { AppendRecord, EventLog } from '../eventlog/index.js';
import type { Logger } from '../observability/index.js';
import { relayLockKey } from './bootstrap-sql.js';
import type { CapturedChange, Database, Row, SqlExecutor } from './database.js';

/** Header naming the outbox row an event came from: the relay's "already sent" marker. */
export const outboxIdHeader = 'aerodb-outbox-id';
const triggerDepthHeader = 'aerofn-trigger-depth';
const roles: readonly string[] = ['anon', 'authenticated', 'service_role'];

export interface ChangeRelayOptions {
  readonly database: Database;
  readonly eventLog: EventLog;
  /** Usually `aerodb.changes` (with the configured prefix). */
  readonly topic: string;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
}

export interface ChangeRelay {
  /** Moves one batch from the outbox to the log; the number of events appended. */
  relayOnce(): Promise<number>;
  /** Relays until the outbox is empty. */
  drain(): Promise<number>;
  /** Polls in the background until stop(). */
  start(): void;
  stop(): Promise<void>;
}

/** DESIGN §4.6 AeroDB change event for one outbox row. */
export function toChangeEvent(change: CapturedChange): Record<string, unknown> {
  const event: Record<string, unknown> = {
    table: change.table,
    schema: change.schema,
    op: change.op,
    row: change.row,
    commitTs: change.commitTs,
    txId: change.txId,
    triggerDepth: change.triggerDepth,
  };
  if (change.old !== null) event['old'] = change.old;
  const context = contextOf(change.claims);
  if (context !== null) event['context'] = context;
  return event;
}

function contextOf(claims: Record<string, unknown> | null): RlsContext | null {
  if (claims === null) return null;
  const role = claims['role'];
  if (typeof role !== 'string' || !roles.includes(role)) return null;
  const sub = claims['sub'];
  return { role: role as DatabaseRole, sub: typeof sub === 'string' ? sub : null, claims };
}

function toCapturedChange(row: Row): CapturedChange {
  return {
    id: String(row['id']),
    txId: String(row['tx_id']),
    schema: String(row['schema_name']),
    table: String(row['table_name']),
    op: row['op'] as CapturedChange['op'],
    row: (row['row_data'] as Row | null) ?? null,
    old: (row['old_data'] as Row | null) ?? null,
    claims: (row['claims'] as Record<string, unknown> | null) ?? null,
    triggerDepth: Number(row['trigger_depth']),
    commitTs: Date.parse(String(row['written_at'])),
  };
}

/**
 * The log key of a change: `schema.table:<primary key as a JSON array>` (e.g. `public.notes:[42]`),
 * so that the pipeline, which keeps order per key, runs one row's changes in order and different
 * rows in parallel. `primaryKey` lists the table's key columns in key order; a table without one
 * (or one the catalog no longer knows) is keyed by `schema.table` alone. A DELETE is keyed by the
 * deleted row (its `row`); an UPDATE that changes the key by the new key.
 */
export function changeKey(change: Pick<CapturedChange, 'schema' | 'table' | 'row'>, primaryKey: readonly string[] | undefined): string {
  const table = `${change.schema}.${change.table}`;
  if (primaryKey === undefined || primaryKey.length === 0 || change.row === null) return table;
  const row = change.row;
  return `${table}:${JSON.stringify(primaryKey.map((column) => row[column] ?? null))}`;
}

/** Primary key columns (in key order) of the tables of one batch, read from the catalog once per table. */
async function primaryKeysOf(tx: SqlExecutor, changes: readonly CapturedChange[]): Promise<Map<string, string[]>> {
  const tables = new Map<string, { schema: string; table: string }>();
  for (const change of changes) tables.set(`${change.schema}.${change.table}`, { schema: change.schema, table: change.table });
  const list = [...tables.values()];
  const { rows } = await tx.query(
    'select n.nspname::text as schema_name, c.relname::text as table_name, ' +
      'json_agg(a.attname::text order by k.ord) as columns ' +
      'from unnest($1::text[], $2::text[]) as t(schema_name, table_name) ' +
      'join pg_namespace n on n.nspname = t.schema_name ' +
      'join pg_class c on c.relnamespace = n.oid and c.relname = t.table_name ' +
      'join pg_index i on i.indrelid = c.oid and i.indisprimary ' +
      'cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord) ' +
      'join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum ' +
      'group by 1, 2',
    [list.map((t) => t.schema), list.map((t) => t.table)],
  );
  const keys = new Map<string, string[]>();
  for (const row of rows) keys.set(`${String(row['schema_name'])}.${String(row['table_name'])}`, row['columns'] as string[]);
  return keys;
}

/** Reads the outbox rows of one batch, in id order (= commit order, see bootstrap-sql.ts). */
export async function readOutbox(tx: SqlExecutor, limit: number): Promise<CapturedChange[]> {
  const { rows } = await tx.query(
    'select id, tx_id, schema_name, table_name, op, row_data, old_data, claims, trigger_depth, written_at ' +
      'from aerofn.change_outbox order by id limit $1',
    [limit],
  );
  return rows.map(toCapturedChange);
}

/** The highest outbox id already in the topic (a crash between append and delete must not repeat events). */
async function lastRelayedId(eventLog: EventLog, topic: string): Promise<bigint> {
  const [starts, ends] = await Promise.all([eventLog.startOffsets(topic), eventLog.endOffsets(topic)]);
  let last = -1n;
  for (let partition = 0; partition < ends.length; partition += 1) {
    const end = ends[partition] ?? 0;
    const from = Math.max(starts[partition] ?? 0, end - 16);
    if (end <= from) continue;
    for (const record of await eventLog.read(topic, partition, from, { maxRecords: end - from })) {
      const id = record.headers[outboxIdHeader];
      if (id !== undefined && /^\d+$/.test(id) && BigInt(id) > last) last = BigInt(id);
    }
  }
  return last;
}

/**
 * Moves captured changes from the outbox to the change log, in commit order, once each: the
 * batch is read and deleted in one owner transaction under an advisory lock (one relay at a time
 * across instances), and rows already in the log (by their outbox id header) are not appended again.
 */
export function createChangeRelay(options: ChangeRelayOptions): ChangeRelay {
  const { database, eventLog, topic, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  let topicReady: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;

  const relayOnce = async (): Promise<number> => {
    // One partition: the topic keeps commit order across rows and tables; keys order a function's work.
    topicReady ??= eventLog.ensureTopic({ name: topic, partitions: 1 });
    await topicReady;
    return database.adminTransaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [relayLockKey]);
      const changes = await readOutbox(tx, batchSize);
      if (changes.length === 0) return 0;
      const already = await lastRelayedId(eventLog, topic);
      const fresh = changes.filter((change) => BigInt(change.id) > already);
      if (fresh.length > 0) {
        // Read at relay time: the key columns of a table are looked up once per batch, not per row.
        const primaryKeys = await primaryKeysOf(tx, fresh);
        const records: AppendRecord[] = fresh.map((change) => ({
          key: changeKey(change, primaryKeys.get(`${change.schema}.${change.table}`)),
          value: JSON.stringify(toChangeEvent(change)),
          headers: { [outboxIdHeader]: change.id, [triggerDepthHeader]: String(change.triggerDepth) },
          timestamp: change.commitTs,
        }));
        await eventLog.append(topic, records);
      }
      await tx.query('delete from aerofn.change_outbox where id <= $1', [(changes[changes.length - 1] as CapturedChange).id]);
      return fresh.length;
    });
  };

  const drain = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const moved = await relayOnce();
      total += moved;
      if (moved === 0) {
        // An empty batch may still have deleted already-relayed rows; stop when nothing is left.
        const { rows } = await database.admin('select exists (select 1 from aerofn.change_outbox) as more');
        if (rows[0]?.['more'] !== true) return total;
      }
    }
  };

  const tick = (): void => {
    if (stopped) return;
    running = drain()
      .catch((error: unknown) => logger.warn({ err: error }, 'change relay failed; retrying on the next poll'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, pollIntervalMs);
      });
  };

  return {
    relayOnce,
    drain,
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
