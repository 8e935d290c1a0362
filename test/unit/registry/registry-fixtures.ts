import type { FunctionConfig, FunctionDeployed, RegistryEvent, Trigger } from '../../../src/registry/index.js';
import { defaultRetryPolicy } from '../../../src/registry/index.js';

export const defaults = { sandbox: { timeoutMs: 10_000, memoryMb: 128, stackKb: 1024 }, retry: defaultRetryPolicy };

export const baseConfig: FunctionConfig = {
  timeoutMs: 10_000,
  memoryMb: 128,
  stackKb: 1024,
  allowedHosts: [],
  allowedEnv: [],
  verifyJwt: true,
  retry: defaultRetryPolicy,
};

let counter = 0;
const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

export function deployed(name: string, expectedVersion: number, extra: Partial<FunctionDeployed> = {}): FunctionDeployed {
  counter += 1;
  return {
    type: 'FunctionDeployed',
    id: `e${counter}`,
    name,
    expectedVersion,
    version: expectedVersion + 1,
    at: at(expectedVersion),
    subject: 'user-1',
    sha256: 'a'.repeat(64),
    module: { size: 8, chunks: 1, offset: 0 },
    config: baseConfig,
    triggers: [{ type: 'http' }] as Trigger[],
    enabled: true,
    ...extra,
  };
}

export function simple(type: 'FunctionUndeployed' | 'FunctionEnabled' | 'FunctionDisabled', name: string, expectedVersion: number): RegistryEvent {
  counter += 1;
  return { type, id: `e${counter}`, name, expectedVersion, at: at(30), subject: null };
}

/** The smallest valid module, with a custom section so that different tags give different sha256s. */
export function wasmModule(tag: string): Uint8Array {
  const name = Buffer.from('aerofn', 'utf8');
  const payload = Buffer.from(tag, 'utf8');
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  if (body.length > 127) throw new Error('keep test tags short');
  return new Uint8Array(Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), Buffer.from([0x00, body.length]), body]));
}
