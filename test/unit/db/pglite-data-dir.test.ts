import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { openDatabase } from '../../../src/db/index.js';
import { silentLogger } from '../../../src/observability/index.js';

describe('PGlite in the data dir', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('keeps tables and captured changes across a restart, and a second start bootstraps idempotently', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-pglite-'));
    dirs.push(dataDir);
    const open = () => openDatabase({ config: { database: { url: undefined, poolSize: 1 } }, dataDir, logger: silentLogger() });
    const first = await open();
    assert.equal(first.kind, 'pglite');
    await first.adminScript('create table kept (k text primary key); grant select, insert on kept to service_role;');
    await first.enableChangeCapture('kept');
    await first.query('insert into kept values ($1)', ['survives'], serviceRoleContext);
    await first.close();
    assert.ok((await readdir(join(dataDir, 'pglite'))).includes('PG_VERSION'), 'PGlite lives in <dataDir>/pglite');

    const second = await open();
    try {
      assert.deepEqual((await second.query('select k from kept', [], serviceRoleContext)).rows, [{ k: 'survives' }]);
      assert.equal((await second.admin('select count(*)::int as n from aerofn.change_outbox')).rows[0]?.['n'], 1);
      const roles = await second.admin("select rolname, rolbypassrls from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by rolname");
      assert.deepEqual(roles.rows, [
        { rolname: 'anon', rolbypassrls: false },
        { rolname: 'authenticated', rolbypassrls: false },
        { rolname: 'service_role', rolbypassrls: true },
      ]);
    } finally {
      await second.close();
    }
  });
});
