/**
 * What the answer cap costs a guest's write with RETURNING on PostgreSQL: with the cap the write is
 * judged before its commit (a Flush, then the Sync: one more round trip); without it one round
 * trip. Database.query as db_query runs it (service role, one pooled connection), 2,000 inserts per
 * side, six alternating pairs after a warm-up; then reads, which keep one round trip either way.
 *   node --import tsx bench/db-query/write-answer-cap.ts        (AEROFN_TEST_DATABASE_URL, `make pg-up`)
 */
import { randomUUID } from 'node:crypto';
import type { RlsContext } from '../../src/auth/index.js';
import { openDatabase } from '../../src/db/index.js';
import { silentLogger } from '../../src/observability/index.js';

const url = process.env['AEROFN_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:54329/postgres';
const db = await openDatabase({ config: { database: { url, poolSize: 1 } }, dataDir: '', logger: silentLogger() });
const schema = `bench_${randomUUID().slice(0, 8)}`;
await db.adminScript(`create schema ${schema}; grant usage on schema ${schema} to service_role;
  create table ${schema}.t (id bigserial primary key, x int); grant all on ${schema}.t to service_role;
  grant usage on all sequences in schema ${schema} to service_role;`);
const rls: RlsContext = { role: 'service_role', sub: null, claims: { role: 'service_role' } };
const calls = 2000;
const cap = { maxAnswerBytes: 16 * 1024 * 1024 };

/** Mean µs per statement over `calls` statements, one after the other. */
async function meanMicros(sql: (i: number) => [string, unknown[]], capped: boolean): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const [text, params] = sql(i);
    await db.query(text, params, rls, capped ? cap : {});
  }
  return ((performance.now() - started) * 1000) / calls;
}

const write = (i: number): [string, unknown[]] => [`insert into ${schema}.t (x) values ($1) returning id`, [i]];
const read = (i: number): [string, unknown[]] => [`select id from ${schema}.t where id = $1`, [i + 1]];
try {
  await meanMicros(write, true);
  await meanMicros(write, false);
  for (const [name, sql] of [['insert … returning id', write], ['select by id', read]] as const) {
    const pairs: string[] = [];
    for (let pair = 0; pair < 6; pair++) {
      const capped = await meanMicros(sql, true);
      const plain = await meanMicros(sql, false);
      pairs.push(`${capped.toFixed(0)}/${plain.toFixed(0)}`);
    }
    console.log(`${name}: µs per statement with the cap / without, six pairs: ${pairs.join(', ')}`);
  }
} finally {
  await db.adminScript(`drop schema ${schema} cascade`);
  await db.close();
}
