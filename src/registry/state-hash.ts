import { createHash } from 'node:crypto';
import type { FunctionDefinition } from './function-definition.js';
import type { RegistryState } from './registry-state.js';

// Definitions are never changed once folded (enable/disable makes a new object), so their
// canonical text can be kept: re-hashing a large registry then costs sha256, not serialisation.
const canonicalDefinitions = new WeakMap<FunctionDefinition, string>();

function canonicalDefinition(definition: FunctionDefinition): string {
  let text = canonicalDefinitions.get(definition);
  if (text === undefined) {
    text = canonicalJson(definition);
    canonicalDefinitions.set(definition, text);
  }
  return text;
}

/**
 * JSON with object keys sorted and no whitespace, so equal values give equal text whatever order
 * their keys were written in (events written by another version of the service, say).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/**
 * sha256 over the functions the state holds (every name with its latest version, its serving
 * definition and every version), in name and version order. Module locations and event counts
 * are left out: they describe the log, not the registry, and differ between, say, a registry
 * rebuilt from a copied log and the original.
 */
export function stateHash(state: RegistryState): string {
  const hash = createHash('sha256');
  const names = [...state.functions.keys()].sort();
  for (const name of names) {
    const entry = state.functions.get(name);
    if (entry === undefined) continue;
    const versions = [...entry.versions.keys()].sort((a, b) => a - b);
    // The serving definition is always one of `versions`; its version number identifies it.
    hash.update(`${canonicalJson({ name, latestVersion: entry.latestVersion, current: entry.current?.version ?? null })}\n`);
    for (const version of versions) {
      const definition = entry.versions.get(version);
      if (definition !== undefined) hash.update(`${canonicalDefinition(definition)}\n`);
    }
    hash.update('\n');
  }
  return hash.digest('hex');
}
