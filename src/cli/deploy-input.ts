import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { toProtoTrigger, type DeployRequestMessage, type FunctionConfigMessage } from '../api/index.js';
import { FunctionError } from '../errors/index.js';
import type { Trigger } from '../registry/index.js';

/** What `aerofn deploy` sends, from a manifest (aerofn.json, in the spirit of spin.toml) or flags. */
export interface DeployFlags {
  name?: string;
  trigger?: string[];
  timeoutMs?: string;
  memoryMb?: string;
  stackKb?: string;
  allowHost?: string[];
  allowEnv?: string[];
  verifyJwt?: boolean;
  expectedVersion?: string;
}

export interface PreparedDeploy {
  readonly request: DeployRequestMessage;
  readonly modulePath: string;
}

const configKeys = ['timeoutMs', 'memoryMb', 'stackKb', 'allowedHosts', 'allowedEnv', 'verifyJwt', 'retry'];

/** `path` is a .wasm file, an aerofn.json manifest, or a folder holding one. */
export async function prepareDeploy(path: string, flags: DeployFlags): Promise<PreparedDeploy> {
  const info = await stat(path).catch(() => {
    throw new FunctionError('BadRequest', `${path} does not exist; pass a .wasm file, an aerofn.json manifest or a folder with one`);
  });
  const manifestPath = info.isDirectory() ? join(path, 'aerofn.json') : path.endsWith('.json') ? path : undefined;
  let name = flags.name;
  let modulePath = path;
  let config: Record<string, unknown> = {};
  let triggers: Trigger[] | undefined;
  if (manifestPath !== undefined) {
    const manifest = await readManifest(manifestPath);
    name ??= manifest.name;
    modulePath = resolve(dirname(manifestPath), manifest.module);
    config = manifest.config;
    triggers = manifest.triggers;
  }
  name ??= basename(modulePath).replace(/\.wasm$/, '');
  if (flags.trigger !== undefined && flags.trigger.length > 0) triggers = flags.trigger.map(parseTriggerFlag);
  const overrides: Record<string, unknown> = {
    ...(flags.timeoutMs === undefined ? {} : { timeoutMs: integerFlag('--timeout-ms', flags.timeoutMs) }),
    ...(flags.memoryMb === undefined ? {} : { memoryMb: integerFlag('--memory-mb', flags.memoryMb) }),
    ...(flags.stackKb === undefined ? {} : { stackKb: integerFlag('--stack-kb', flags.stackKb) }),
    ...(flags.allowHost === undefined ? {} : { allowedHosts: flags.allowHost }),
    ...(flags.allowEnv === undefined ? {} : { allowedEnv: flags.allowEnv }),
    ...(flags.verifyJwt === false ? { verifyJwt: false } : {}),
  };
  const wasm = await readFile(modulePath).catch((error: Error) => {
    throw new FunctionError('BadRequest', `cannot read the module ${modulePath}: ${error.message}${manifestPath === undefined ? '' : ' (build it first, e.g. `make build-wasm`)'}`);
  });
  return {
    modulePath,
    request: {
      name,
      wasm,
      config: toConfigMessage({ ...config, ...overrides }),
      triggers: (triggers ?? []).map(toProtoTrigger),
      ...(flags.expectedVersion === undefined ? {} : { expectedVersion: integerFlag('--expected-version', flags.expectedVersion) }),
    },
  };
}

interface Manifest {
  name: string | undefined;
  module: string;
  config: Record<string, unknown>;
  triggers: Trigger[] | undefined;
}

async function readManifest(path: string): Promise<Manifest> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FunctionError('BadRequest', `cannot read the manifest ${path}: ${(error as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new FunctionError('BadRequest', `${path}: ${what} (fields: name, module, config, triggers)`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('expected a JSON object');
  const manifest = value as Record<string, unknown>;
  for (const key of Object.keys(manifest)) if (!['name', 'module', 'config', 'triggers'].includes(key)) bad(`unknown field "${key}"`);
  if (typeof manifest['module'] !== 'string') bad('"module" must be the path of the .wasm file, relative to the manifest');
  if (manifest['name'] !== undefined && typeof manifest['name'] !== 'string') bad('"name" must be a string');
  const config = (manifest['config'] ?? {}) as Record<string, unknown>;
  if (typeof config !== 'object' || Array.isArray(config)) bad('"config" must be an object');
  for (const key of Object.keys(config)) if (!configKeys.includes(key)) bad(`unknown config field "${key}"; known: ${configKeys.join(', ')}`);
  const triggers = manifest['triggers'];
  if (triggers !== undefined && !Array.isArray(triggers)) bad('"triggers" must be an array');
  return {
    name: manifest['name'] as string | undefined,
    module: manifest['module'] as string,
    config,
    triggers: (triggers as unknown[] | undefined)?.map((trigger, i) => checkTrigger(trigger, `${path}: triggers[${i}]`)),
  };
}

function checkTrigger(value: unknown, where: string): Trigger {
  const trigger = value as { type?: unknown };
  if (trigger === null || typeof trigger !== 'object' || !['http', 'database', 'schedule'].includes(String(trigger.type))) {
    throw new FunctionError('BadRequest', `${where} needs "type": "http", "database" or "schedule"`);
  }
  return value as Trigger;
}

/** `http` · `database:TABLE[:INSERT,UPDATE,DELETE]` · `schedule:CRON[@ZONE]` */
export function parseTriggerFlag(flag: string): Trigger {
  const [type = '', ...rest] = flag.split(':');
  const spec = rest.join(':');
  if (type === 'http' && spec === '') return { type: 'http' };
  if (type === 'database' || type === 'db') {
    const [table = '', ops = 'INSERT,UPDATE,DELETE'] = spec.split(':');
    if (table === '') throw new FunctionError('BadRequest', `--trigger ${flag}: name the table, e.g. database:notes:INSERT`);
    return { type: 'database', table, operations: ops.split(',').map((op) => op.trim().toUpperCase()) as Trigger extends { operations: infer O } ? O : never };
  }
  if (type === 'schedule' || type === 'cron') {
    const at = spec.lastIndexOf('@');
    const cron = (at < 0 ? spec : spec.slice(0, at)).trim();
    if (cron === '') throw new FunctionError('BadRequest', `--trigger ${flag}: give a cron expression, e.g. "schedule:*/5 * * * *@Europe/Paris"`);
    return at < 0 ? { type: 'schedule', cron } : { type: 'schedule', cron, timezone: spec.slice(at + 1) };
  }
  throw new FunctionError('BadRequest', `--trigger ${flag}: use http, database:TABLE[:OPS] or schedule:CRON[@ZONE]`);
}

function integerFlag(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new FunctionError('BadRequest', `${flag} must be a whole number, got "${raw}"`);
  return value;
}

function toConfigMessage(config: Record<string, unknown>): FunctionConfigMessage {
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  const retry = config['retry'] as Record<string, number | undefined> | undefined;
  return {
    ...(config['timeoutMs'] === undefined ? {} : { timeoutMs: Number(config['timeoutMs']) }),
    ...(config['memoryMb'] === undefined ? {} : { memoryMb: Number(config['memoryMb']) }),
    ...(config['stackKb'] === undefined ? {} : { stackKb: Number(config['stackKb']) }),
    allowedHosts: list(config['allowedHosts']),
    allowedEnv: list(config['allowedEnv']),
    ...(config['verifyJwt'] === undefined ? {} : { verifyJwt: Boolean(config['verifyJwt']) }),
    ...(retry === undefined
      ? {}
      : { retry: { maxAttempts: retry['maxAttempts'], initialBackoffMs: retry['initialBackoffMs'], maxBackoffMs: retry['maxBackoffMs'] } }),
  };
}
