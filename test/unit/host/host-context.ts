import { anonContext, type RlsContext } from '../../../src/auth/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { defaultRetryPolicy, type FunctionConfig } from '../../../src/registry/index.js';
import type { HostCallContext } from '../../../src/wasm/index.js';

/** A HostCallContext as the sandbox bridge builds it, for calling host functions directly. */
export function hostContext(overrides: Partial<Omit<HostCallContext, 'config'>> & { config?: Partial<FunctionConfig> } = {}): HostCallContext {
  const { config, ...rest } = overrides;
  return {
    invocationId: 'test-invocation',
    functionName: 'test-fn',
    version: 1,
    config: { timeoutMs: 5000, memoryMb: 16, stackKb: 256, allowedHosts: [], allowedEnv: [], verifyJwt: true, retry: defaultRetryPolicy, ...config },
    rls: anonContext as RlsContext,
    signal: new AbortController().signal,
    deadline: Date.now() + 5000,
    logger: silentLogger(),
    triggerDepth: 0,
    ...rest,
  };
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export async function callJson(fn: (request: Uint8Array, context: HostCallContext) => Promise<Uint8Array | string | null>, request: unknown, context: HostCallContext): Promise<Record<string, unknown>> {
  const answer = await fn(utf8(typeof request === 'string' ? request : JSON.stringify(request)), context);
  if (answer === null) throw new Error('host function answered null');
  return JSON.parse(typeof answer === 'string' ? answer : new TextDecoder().decode(answer)) as Record<string, unknown>;
}
