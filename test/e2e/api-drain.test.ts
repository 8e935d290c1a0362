import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../../src/auth/index.js';
import { guestWasm } from './api-harness.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const drainTimeoutMs = 3000;

interface Server {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `serve()` of src/main.ts in its own process, as `aerofn serve` runs it; resolves once it logs "aerofn serving". */
async function startServer(dataDir: string, secret: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "const { serve } = await import('./src/main.ts'); await serve();"], {
    cwd: repo,
    env: {
      PATH: process.env['PATH'],
      NODE_NO_WARNINGS: '1',
      AEROFN_DATA_DIR: dataDir,
      AEROFN_HTTP_PORT: '0',
      AEROFN_GRPC_PORT: '0',
      AEROFN_JWT_SECRET: secret,
      AEROFN_WORKERS: '2',
      AEROFN_DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
      AEROFN_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string; level?: number };
        // Warnings and errors of the server land in the test output, to explain a failure.
        if ((entry.level ?? 0) >= (process.env['DRAIN_DEBUG'] ? 0 : 40)) process.stderr.write(`server: ${line}\n`);
        if (entry.msg === 'aerofn serving' && entry.http !== undefined) resolve(`http://${entry.http}`);
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`the server exited with ${code} before serving`)));
  });
  return { child, baseUrl, exited };
}

async function post(url: string, body: unknown, token?: string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('aerofn serve: SIGTERM drains', () => {
  let dataDir: string;
  const secret = randomBytes(16).toString('hex');
  let token: string;
  let echo: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'aerofn-drain-'));
    token = await mintToken({ secret, role: 'service_role' });
    echo = Buffer.from(await guestWasm('echo')).toString('base64');
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits within the bound under load and loses no acknowledged deploy', async () => {
    const server = await startServer(dataDir, secret);
    assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'echo', wasm: echo, config: { verifyJwt: false } }, token), 201);

    // A stream of invocations and deploys; SIGTERM lands in the middle of it.
    let stopLoad = false;
    const acknowledged: string[] = [];
    const outcomes = new Map<string, number>();
    const count = (key: string): void => {
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };
    const invokeLoop = async (): Promise<void> => {
      while (!stopLoad) {
        try {
          count(String(await post(`${server.baseUrl}/functions/v1/echo`, { n: 1 })));
        } catch {
          count('refused');
          return;
        }
      }
    };
    const deployLoop = async (): Promise<void> => {
      for (let i = 0; !stopLoad; i++) {
        const name = `fn-${i}`;
        try {
          if ((await post(`${server.baseUrl}/functions/v1/deploy`, { name, wasm: echo }, token)) === 201) acknowledged.push(name);
        } catch {
          return;
        }
      }
    };
    const load = Promise.all([...Array.from({ length: 8 }, invokeLoop), deployLoop()]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    stopLoad = true;
    await load;

    assert.equal(exit.code, 0, 'a drained stop exits 0');
    assert.ok(exit.at - signalled < drainTimeoutMs + 3000, `exited ${exit.at - signalled} ms after SIGTERM`);
    assert.ok((outcomes.get('200') ?? 0) > 10, `invocations served before the signal: ${JSON.stringify([...outcomes])}`);
    for (const status of outcomes.keys()) assert.ok(['200', '503', 'refused'].includes(status), `unexpected outcome ${status}`);
    assert.ok(acknowledged.length > 0);

    // Everything acknowledged is there after a restart on the same data.
    const again = await startServer(dataDir, secret);
    try {
      const response = await fetch(`${again.baseUrl}/functions/v1`, { headers: { authorization: `Bearer ${token}` } });
      const names = new Set(((await response.json()) as { functions: Array<{ name: string }> }).functions.map((fn) => fn.name));
      for (const name of ['echo', ...acknowledged]) assert.ok(names.has(name), `${name} was acknowledged but is gone`);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('exits at once on a second signal', async () => {
    const server = await startServer(dataDir, secret);
    const spin = Buffer.from(await guestWasm('loop')).toString('base64');
    assert.equal(await post(`${server.baseUrl}/functions/v1/deploy`, { name: 'spin', wasm: spin, config: { timeoutMs: 60_000, verifyJwt: false } }, token), 201);
    const stuck = post(`${server.baseUrl}/functions/v1/spin`, {}).catch(() => 'refused');
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 130);
    assert.ok(exit.at - second < 1500, `exited ${exit.at - second} ms after the second signal`);
    await stuck;
  });
});
