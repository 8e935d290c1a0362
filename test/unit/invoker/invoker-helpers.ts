import { serviceRoleContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { createInMemoryFunctions, createInvoker, type InvokeRequest, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import type { FunctionConfig } from '../../../src/registry/index.js';
import type { HostFunctions } from '../../../src/wasm/index.js';
import { compileFixture } from '../../fixtures/wasm/compile-fixture.js';

export const sandboxConfig = loadConfig({ AEROFN_WORKERS: '2' }).sandbox;

export interface Harness {
  readonly invoker: SandboxInvoker;
  deploy(name: string, fixture: string, config?: Partial<FunctionConfig>, options?: { enabled?: boolean }): Promise<void>;
  request(functionName: string, payload?: string, extra?: Partial<InvokeRequest>): InvokeRequest;
}

export async function startHarness(hostFunctions: HostFunctions = {}, workers = 2): Promise<Harness> {
  const functions = createInMemoryFunctions(sandboxConfig.defaults);
  const invoker = createInvoker({ functions, hostFunctions, config: { ...sandboxConfig, workers }, logger: silentLogger() });
  await invoker.ready();
  return {
    invoker,
    async deploy(name, fixture, config = {}, options = {}) {
      await functions.deploy(name, await compileFixture(fixture), { config, ...options });
    },
    request: (functionName, payload = '{"hello":"world"}', extra = {}) => ({ functionName, payload, trigger: 'http', rls: serviceRoleContext, ...extra }),
  };
}
