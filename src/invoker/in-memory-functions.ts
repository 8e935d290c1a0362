import { loadConfig, type SandboxLimits } from '../config/index.js';
import { FunctionError } from '../errors/index.js';
import { defaultRetryPolicy, type FunctionConfig, type FunctionDefinition, type FunctionLookup, type Trigger } from '../registry/index.js';
import { validateModule } from '../wasm/index.js';

export interface DeployOptions {
  readonly config?: Partial<FunctionConfig>;
  readonly triggers?: readonly Trigger[];
  readonly enabled?: boolean;
}

/** A FunctionLookup kept in memory: for tests and `aerofn run`, until the event-sourced registry serves. */
export interface InMemoryFunctions extends FunctionLookup {
  /** Validates the module like a deploy would (InvalidWasm otherwise) and makes it the current version. */
  deploy(name: string, wasm: Uint8Array, options?: DeployOptions): Promise<FunctionDefinition>;
  undeploy(name: string): boolean;
  list(): FunctionDefinition[];
}

export function createInMemoryFunctions(defaults: SandboxLimits = loadConfig({}).sandbox.defaults): InMemoryFunctions {
  const byName = new Map<string, FunctionDefinition>();
  /** Every version deployed, as the event-sourced registry keeps them (replays pin old ones). */
  const versions = new Map<string, FunctionDefinition>();
  const modules = new Map<string, Uint8Array>();

  return {
    getFunction: (name) => byName.get(name),
    getFunctionVersion: (name, version) => versions.get(`${name}@${version}`),
    async getModule(sha256) {
      const bytes = modules.get(sha256);
      if (bytes === undefined) throw new FunctionError('NotFound', `no module with sha256 ${sha256} is stored; deploy it again.`);
      return bytes;
    },
    async deploy(name, wasm, options = {}) {
      const config: FunctionConfig = {
        timeoutMs: defaults.timeoutMs,
        memoryMb: defaults.memoryMb,
        stackKb: defaults.stackKb,
        allowedHosts: [],
        allowedEnv: [],
        verifyJwt: true,
        retry: defaultRetryPolicy,
        ...options.config,
      };
      const validated = await validateModule(wasm, config);
      modules.set(validated.sha256, wasm.slice());
      const version = (byName.get(name)?.version ?? 0) + 1;
      const definition: FunctionDefinition = {
        id: `${name}@${version}`,
        name,
        version,
        sha256: validated.sha256,
        config,
        triggers: options.triggers ?? [{ type: 'http' }],
        enabled: options.enabled ?? true,
        deployedAt: new Date().toISOString(),
        deployedBy: null,
      };
      byName.set(name, definition);
      versions.set(definition.id, definition);
      return definition;
    },
    undeploy: (name) => byName.delete(name),
    list: () => [...byName.values()],
  };
}
