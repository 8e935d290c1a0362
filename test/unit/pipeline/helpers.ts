import { defaultRetryPolicy, type FunctionDefinition, type RetryPolicy, type Trigger } from '../../../src/registry/index.js';
import type { LogRecordLike } from '../../../src/pipeline/types.js';

export function functionDef(name: string, triggers: readonly Trigger[], retry: RetryPolicy = defaultRetryPolicy, version = 1): FunctionDefinition {
  return {
    id: `${name}@${version}`,
    name,
    version,
    sha256: '0'.repeat(64),
    config: { timeoutMs: 1000, memoryMb: 16, stackKb: 256, allowedHosts: [], allowedEnv: [], verifyJwt: false, retry },
    triggers,
    enabled: true,
    deployedAt: '2026-01-01T00:00:00.000Z',
    deployedBy: null,
  };
}

export function logRecord(offset: number, value: unknown, options: { key?: string | null; partition?: number; topic?: string; headers?: Record<string, string> } = {}): LogRecordLike {
  return {
    topic: options.topic ?? 'aerodb.changes',
    partition: options.partition ?? 0,
    offset,
    key: options.key ?? null,
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: options.headers ?? {},
    timestamp: 0,
  };
}
