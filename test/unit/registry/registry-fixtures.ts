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

function leb128(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** A valid module of exactly `totalBytes` bytes: one custom section that carries a patterned payload. */
export function largeWasmModule(totalBytes: number): Uint8Array {
  const header = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00]);
  let sectionSize = totalBytes - header.length - 1;
  while (header.length + leb128(sectionSize).length + sectionSize > totalBytes) sectionSize -= 1;
  const out = new Uint8Array(totalBytes);
  const size = leb128(sectionSize);
  out.set(header, 0);
  out.set(size, header.length);
  const start = header.length + size.length;
  out[start] = 1; // custom section name: "b"
  out[start + 1] = 0x62;
  for (let i = start + 2; i < totalBytes; i += 1) out[i] = (i * 31) & 0xff;
  if (start + sectionSize !== totalBytes) throw new Error('largeWasmModule: size mismatch');
  return out;
}

/**
 * A deterministic registry history of `count` events over `names` functions: deploys, redeploys,
 * disables, enables, undeploys, and every 50th event a stale deploy that the fold must reject.
 */
export function syntheticHistory(count: number, names = 1000): RegistryEvent[] {
  const latest = new Map<string, number>();
  const live = new Map<string, boolean>();
  const events: RegistryEvent[] = [];
  const time = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i += 1) {
    const name = `fn-${i % names}`;
    const version = latest.get(name) ?? 0;
    const at = new Date(time + i * 1000).toISOString();
    const base = { id: `s${i}`, name, expectedVersion: version, at, subject: `user-${i % 7}` };
    const roll = (i * 7919) % 10;
    if (i % 50 === 49) {
      events.push({ ...base, type: 'FunctionDeployed', expectedVersion: Math.max(0, version - 1), version, sha256: (i % 16).toString(16).repeat(64), module: { size: 8, chunks: 1, offset: 0 }, config: baseConfig, triggers: [{ type: 'http' }], enabled: true });
    } else if (!live.get(name) || roll < 5) {
      const triggers: Trigger[] = roll % 2 === 0 ? [{ type: 'http' }] : [{ type: 'database', table: `t${i % 13}`, operations: ['INSERT', 'UPDATE'] }, { type: 'schedule', cron: '*/5 * * * *' }];
      events.push({ ...base, type: 'FunctionDeployed', version: version + 1, sha256: (i % 16).toString(16).repeat(64), module: { size: 8, chunks: 1, offset: i }, config: { ...baseConfig, timeoutMs: 1000 + (i % 100) }, triggers, enabled: true });
      latest.set(name, version + 1);
      live.set(name, true);
    } else if (roll < 7) {
      events.push({ ...base, type: 'FunctionDisabled' });
    } else if (roll < 9) {
      events.push({ ...base, type: 'FunctionEnabled' });
    } else {
      events.push({ ...base, type: 'FunctionUndeployed' });
      live.set(name, false);
    }
  }
  return events;
}
