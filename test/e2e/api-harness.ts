/**
 * A real `aerofn serve` composition (src/main.ts startService) on free ports with a temp data
 * dir: embedded event log, PGlite, the registry, the sandbox invoker, the pipeline, REST and gRPC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mintToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { startService, type RunningService } from '../../src/main.js';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { bumpAllocator } from '../fixtures/wasm/wat-parts.js';

export interface Harness {
  readonly service: RunningService;
  readonly baseUrl: string;
  readonly grpcAddress: string;
  readonly secret: string;
  readonly dataDir: string;
  readonly tokens: { readonly serviceRole: string; readonly anon: string; readonly authenticated: string };
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-api-'));
  const secret = randomBytes(24).toString('hex');
  const config = loadConfig({
    AEROFN_DATA_DIR: dataDir,
    AEROFN_HTTP_PORT: '0',
    AEROFN_GRPC_PORT: '0',
    AEROFN_JWT_SECRET: secret,
    AEROFN_WORKERS: '2',
    AEROFN_LOG_FSYNC: 'false',
    AEROFN_DRAIN_TIMEOUT_MS: '5000',
    ...env,
  });
  const service = await startService({ config, logger: silentLogger(), environment: {} });
  const [serviceRole, anon, authenticated] = await Promise.all([
    mintToken({ secret, role: 'service_role' }),
    mintToken({ secret, role: 'anon' }),
    mintToken({ secret, role: 'authenticated', sub: 'user-1' }),
  ]);
  return {
    service,
    baseUrl: `http://127.0.0.1:${service.httpPort}`,
    grpcAddress: `127.0.0.1:${service.grpcPort}`,
    secret,
    dataDir,
    tokens: { serviceRole, anon, authenticated },
    async close() {
      await service.stop('test done');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const allocator = `
  (memory (export "memory") 1)
  ${bumpAllocator(4096)}`;

const packed = (ptr: string, len: string): string => `(i64.or (i64.shl (i64.extend_i32_u ${ptr}) (i64.const 32)) (i64.extend_i32_u ${len}))`;

/** Guests for every row of the error table, written in WAT and compiled by wabt at test time. */
export const guests = {
  /** Returns its input. */
  echo: `(module ${allocator}
    (func (export "handler") (param i32 i32) (result i64) ${packed('(local.get 0)', '(local.get 1)')}))`,
  /** Never returns: Timeout. */
  loop: `(module ${allocator}
    (func (export "handler") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0)))`,
  /** Grows memory until memory.grow fails, then traps: OutOfMemory. */
  memoryBomb: `(module ${allocator}
    (func (export "handler") (param i32 i32) (result i64)
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable))`,
  /** Traps at once: RuntimePanic. */
  panic: `(module ${allocator}
    (func (export "handler") (param i32 i32) (result i64) unreachable))`,
  /** Asks http_fetch for a host it is not allowed to reach, then traps: HostFunctionError. */
  hostRefusal: `(module
    (import "aerodb" "http_fetch" (func $fetch (param i32 i32) (result i64)))
    ${allocator}
    (data (i32.const 16) "{\\"url\\":\\"http://169.254.169.254/latest/meta-data\\",\\"method\\":\\"GET\\"}")
    (func (export "handler") (param i32 i32) (result i64)
      (drop (call $fetch (i32.const 16) (i32.const 64)))
      unreachable))`,
  /** Exports no handler: InvalidWasm at deploy. */
  noHandler: `(module ${allocator})`,
};

export type GuestName = keyof typeof guests;

const compiled = new Map<GuestName, Uint8Array>();
export async function guestWasm(name: GuestName): Promise<Uint8Array> {
  let bytes = compiled.get(name);
  if (bytes === undefined) {
    bytes = await watToWasm(guests[name], `${name}.wat`);
    compiled.set(name, bytes);
  }
  return bytes;
}

/** fetch with a JSON body and an optional bearer token. */
export async function request(
  harness: Harness,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: string; contentType?: string } = {},
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.body !== undefined) {
    body = options.body;
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${harness.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

export async function deploy(harness: Harness, name: string, guest: GuestName, extra: Record<string, unknown> = {}) {
  const wasm = Buffer.from(await guestWasm(guest)).toString('base64');
  return request(harness, 'POST', '/functions/v1/deploy', { token: harness.tokens.serviceRole, json: { name, wasm, ...extra } });
}
