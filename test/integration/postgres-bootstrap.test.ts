import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../src/db/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { withDatabase } from './postgres-test-db.js';

describe('PostgreSQL adapter start-up', () => {
  it('lets several instances bootstrap the same database at once', async () => {
    const { url, drop } = await withDatabase(`aerofn_boot_${randomBytes(4).toString('hex')}`);
    try {
      const open = () => openDatabase({ config: { database: { url, poolSize: 2 } }, dataDir: '', logger: silentLogger() });
      const instances = await Promise.all([open(), open(), open()]);
      const functions = await instances[0]!.admin("select count(*)::int as n from pg_proc p join pg_namespace s on s.oid = p.pronamespace where s.nspname = 'auth'");
      assert.equal(functions.rows[0]?.['n'], 3, 'auth.uid(), auth.role(), auth.jwt()');
      const revoked = await instances[1]!.admin("select has_function_privilege('authenticated', 'pg_catalog.set_config(text, text, boolean)', 'execute') as can");
      assert.equal(revoked.rows[0]?.['can'], false, 'guests cannot call set_config');
      await Promise.all(instances.map((db) => db.close()));
    } finally {
      await drop();
    }
  });
});
