import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFunctionsFacade } from '../../../src/api/index.js';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { createInMemoryFunctions, createInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createRegistry } from '../../../src/registry/index.js';
import { defaults, wasmModule } from '../registry/registry-fixtures.js';

/**
 * The facade answers a deploy or an undeploy only after `afterRegistryChange` (main.ts: change
 * capture in step with the registry). Before, capture followed asynchronously: rows inserted right
 * after a database-triggered function's deploy answered could miss it (a drain test lost two).
 */
describe('functions facade: deploys answer after change capture follows them', () => {
  it('holds the deploy and the undeploy answers until afterRegistryChange resolves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-facade-'));
    const log = await openEmbeddedEventLog({ dataDir: dir, logger: silentLogger(), fsync: false });
    const registry = createRegistry({ log, defaults, logger: silentLogger(), pollIntervalMs: 20 });
    const sandbox = loadConfig({ AEROFN_WORKERS: '1' }).sandbox;
    const invoker = createInvoker({ functions: createInMemoryFunctions(sandbox.defaults), config: sandbox, logger: silentLogger() });
    try {
      await registry.start();
      let calls = 0;
      let release: () => void = () => {};
      const facade = createFunctionsFacade({
        registry,
        invoker,
        afterRegistryChange: () => {
          calls += 1;
          return new Promise<void>((resolve) => (release = resolve));
        },
      });
      let answered = false;
      const deploying = facade
        .deploy({ name: 'on-row', wasm: wasmModule('on-row'), config: {}, triggers: [{ type: 'database', table: 'rows', operations: ['INSERT'] }], caller: serviceRoleContext })
        .then((definition) => {
          answered = true;
          return definition;
        });
      // The registry has applied the deploy, the hook runs, and the caller still waits for it.
      while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(registry.getFunction('on-row')?.version, 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(answered, false, 'the deploy answered before change capture followed it');
      release();
      assert.equal((await deploying).version, 1);

      let undeployed = false;
      const undeploying = facade.undeploy({ name: 'on-row', caller: serviceRoleContext }).then(() => (undeployed = true));
      while (calls === 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(undeployed, false);
      release();
      await undeploying;
    } finally {
      await invoker.close();
      await registry.close();
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
