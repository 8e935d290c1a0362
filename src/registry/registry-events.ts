import type { FunctionConfig, Trigger } from './function-definition.js';

/**
 * The registry's events (DESIGN §4.6 `aerofn.registry`). Each one names the function version
 * the writer saw (`expectedVersion`): `apply` folds it only when that is still the latest
 * version, so every instance that reads the same log takes the same decisions. Times and the
 * caller come from the event itself, never from the reader's clock.
 */
export const registryEventTypes = ['FunctionDeployed', 'FunctionUndeployed', 'FunctionEnabled', 'FunctionDisabled'] as const;
export type RegistryEventType = (typeof registryEventTypes)[number];

/** Where a module's bytes were written in `aerofn.modules` (a hint: readers fall back to a scan). */
export interface ModuleRef {
  readonly size: number;
  readonly chunks: number;
  /** Offset of the first chunk in partition 0 of the modules topic. */
  readonly offset: number;
}

interface RegistryEventBase {
  /** Unique id of the event (for audit and de-duplication by readers). */
  readonly id: string;
  readonly name: string;
  /** The latest version of `name` the writer saw; 0 when the name was never deployed. */
  readonly expectedVersion: number;
  /** ISO time at which the command was accepted by the writing instance. */
  readonly at: string;
  /** JWT subject of the caller, null for the service itself or an anonymous service key. */
  readonly subject: string | null;
}

export interface FunctionDeployed extends RegistryEventBase {
  readonly type: 'FunctionDeployed';
  readonly version: number; // expectedVersion + 1
  readonly sha256: string;
  readonly module: ModuleRef;
  readonly config: FunctionConfig;
  readonly triggers: readonly Trigger[];
  readonly enabled: boolean;
}

export interface FunctionUndeployed extends RegistryEventBase {
  readonly type: 'FunctionUndeployed';
}

export interface FunctionEnabled extends RegistryEventBase {
  readonly type: 'FunctionEnabled';
}

export interface FunctionDisabled extends RegistryEventBase {
  readonly type: 'FunctionDisabled';
}

export type RegistryEvent = FunctionDeployed | FunctionUndeployed | FunctionEnabled | FunctionDisabled;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isVersion = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

export function encodeRegistryEvent(event: RegistryEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * Reads an event back from the log. A record that is not a registry event (hand-written,
 * truncated, from a newer writer) gives undefined: the fold counts it and moves on, the same
 * way on every instance, rather than stopping the registry.
 */
export function decodeRegistryEvent(value: Buffer | string | null): RegistryEvent | undefined {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  const { type, id, name, expectedVersion, at, subject } = parsed;
  if (typeof type !== 'string' || !(registryEventTypes as readonly string[]).includes(type)) return undefined;
  if (typeof id !== 'string' || typeof name !== 'string' || name === '' || !isVersion(expectedVersion)) return undefined;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return undefined;
  if (subject !== null && typeof subject !== 'string') return undefined;
  if (type === 'FunctionDeployed') {
    const { version, sha256, module, config, triggers, enabled } = parsed;
    if (!isVersion(version) || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    if (!isObject(module) || !isVersion(module['size']) || !isVersion(module['chunks']) || !isVersion(module['offset'])) return undefined;
    if (!isObject(config) || !Array.isArray(triggers) || !triggers.every(isObject) || typeof enabled !== 'boolean') return undefined;
  }
  return parsed as unknown as RegistryEvent;
}
