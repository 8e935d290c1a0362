import { isIP } from 'node:net';
import type { SandboxLimits } from '../config/index.js';
import type { FunctionConfig, RetryPolicy, Trigger } from './function-definition.js';
import { badRequest, checkKeys, expectObject, validateTriggers } from './validate-trigger.js';

/** Where a deploy's omitted settings come from: the sandbox defaults of src/config and the retry default. */
export interface RegistryDefaults {
  readonly sandbox: SandboxLimits;
  readonly retry: RetryPolicy;
}

export interface DeployInput {
  readonly name: string;
  /** The module's bytes (the REST and gRPC layers decode base64 before calling). */
  readonly wasm: Uint8Array;
  /** Any subset; the rest comes from the defaults (not from the previous version). */
  readonly config?: Partial<Omit<FunctionConfig, 'retry'>> & { readonly retry?: Partial<RetryPolicy> };
  /** Default `[{type:"http"}]`; `[]` means invocable only through the invoke API. */
  readonly triggers?: readonly Trigger[];
  /** Default true. */
  readonly enabled?: boolean;
  /** Optimistic concurrency: fail with Conflict unless this is the latest version (0 = new name). */
  readonly expectedVersion?: number;
}

export interface ValidatedDeploy {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly config: FunctionConfig;
  readonly triggers: Trigger[];
  readonly enabled: boolean;
  readonly expectedVersion: number | undefined;
}

/** DNS-label-like, so a name fits a URL path, a Kubernetes label and a metric label unchanged. */
export const functionNamePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateFunctionName(name: unknown): string {
  if (typeof name !== 'string' || !functionNamePattern.test(name)) {
    throw badRequest(
      `name must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit (like a DNS label), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function validateExpectedVersion(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`expectedVersion must be a whole number ≥ 0 (0 = the name is new), got ${JSON.stringify(value)}`);
  }
  return value;
}

export function validateDeployInput(input: unknown, defaults: RegistryDefaults): ValidatedDeploy {
  const body = expectObject(input, 'the deploy request');
  checkKeys(body, ['name', 'wasm', 'config', 'triggers', 'enabled', 'expectedVersion'], 'the deploy request');
  const name = validateFunctionName(body['name']);
  const wasm = body['wasm'];
  if (!(wasm instanceof Uint8Array) || wasm.byteLength === 0) throw badRequest('wasm must be the non-empty bytes of a WebAssembly module');
  const enabled = body['enabled'];
  if (enabled !== undefined && typeof enabled !== 'boolean') throw badRequest('enabled must be true or false');
  return {
    name,
    wasm,
    config: validateConfig(body['config'], defaults),
    triggers: validateTriggers(body['triggers']),
    enabled: enabled ?? true,
    expectedVersion: validateExpectedVersion(body['expectedVersion']),
  };
}

function wholeNumber(value: unknown, fallback: number, min: number, max: number, where: string, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${where} must be a whole number of ${unit} from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function validateConfig(value: unknown, defaults: RegistryDefaults): FunctionConfig {
  const raw = value === undefined ? {} : expectObject(value, 'config');
  checkKeys(raw, ['timeoutMs', 'memoryMb', 'stackKb', 'allowedHosts', 'allowedEnv', 'verifyJwt', 'retry'], 'config');
  const verifyJwt = raw['verifyJwt'];
  if (verifyJwt !== undefined && typeof verifyJwt !== 'boolean') throw badRequest('config.verifyJwt must be true or false');
  return {
    timeoutMs: wholeNumber(raw['timeoutMs'], defaults.sandbox.timeoutMs, 1, 900_000, 'config.timeoutMs', 'milliseconds'),
    memoryMb: wholeNumber(raw['memoryMb'], defaults.sandbox.memoryMb, 1, 4096, 'config.memoryMb', 'MiB'),
    stackKb: wholeNumber(raw['stackKb'], defaults.sandbox.stackKb, 64, 65_536, 'config.stackKb', 'KiB'),
    allowedHosts: stringList(raw['allowedHosts'], 'config.allowedHosts', validateHostPattern),
    allowedEnv: stringList(raw['allowedEnv'], 'config.allowedEnv', validateEnvName),
    verifyJwt: verifyJwt ?? true,
    retry: validateRetry(raw['retry'], defaults.retry),
  };
}

function validateRetry(value: unknown, defaults: RetryPolicy): RetryPolicy {
  const raw = value === undefined ? {} : expectObject(value, 'config.retry');
  checkKeys(raw, ['maxAttempts', 'initialBackoffMs', 'maxBackoffMs'], 'config.retry');
  const maxAttempts = wholeNumber(raw['maxAttempts'], defaults.maxAttempts, 1, 100, 'config.retry.maxAttempts', 'attempts');
  const initialBackoffMs = wholeNumber(raw['initialBackoffMs'], defaults.initialBackoffMs, 0, 3_600_000, 'config.retry.initialBackoffMs', 'milliseconds');
  const maxBackoffMs = wholeNumber(raw['maxBackoffMs'], Math.max(defaults.maxBackoffMs, initialBackoffMs), 0, 3_600_000, 'config.retry.maxBackoffMs', 'milliseconds');
  if (maxBackoffMs < initialBackoffMs) throw badRequest(`config.retry.maxBackoffMs (${maxBackoffMs}) must be ≥ config.retry.initialBackoffMs (${initialBackoffMs})`);
  return { maxAttempts, initialBackoffMs, maxBackoffMs };
}

const maxListEntries = 256;

function stringList(value: unknown, where: string, check: (item: string, where: string) => void): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest(`${where} must be an array of strings`);
  if (value.length > maxListEntries) throw badRequest(`${where} has ${value.length} entries; at most ${maxListEntries} are allowed`);
  return value.map((item, index) => {
    if (typeof item !== 'string') throw badRequest(`${where}[${index}] must be a string`);
    check(item, `${where}[${index}]`);
    return item;
  });
}

const hostnamePattern = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** DESIGN §4.1: `host`, `host:port`, `*.example.com` or an IP literal (`[::1]:8080` for IPv6 with a port). */
export function validateHostPattern(entry: string, where: string): void {
  const fail = (): never => {
    throw badRequest(`${where} "${entry}" is not a host pattern; use host, host:port, *.example.com or an IP literal (IPv6 as [::1] or [::1]:8080)`);
  };
  if (isIP(entry) !== 0) return; // a bare IPv4 or IPv6 literal
  let host = entry;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracketed !== null) {
    if (isIP(bracketed[1] ?? '') !== 6) fail();
    if (bracketed[2] !== undefined && Number(bracketed[2]) > 65535) fail();
    return;
  }
  const colon = entry.lastIndexOf(':');
  if (colon >= 0) {
    const port = entry.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail();
    host = entry.slice(0, colon);
  }
  if (host.length > 253 || !(isIP(host) === 4 || hostnamePattern.test(host))) fail();
}

function validateEnvName(entry: string, where: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry)) throw badRequest(`${where} "${entry}" is not an environment variable name (letters, digits, _)`);
}
