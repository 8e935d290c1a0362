// Acceptance audit, issues 4 and 6: `aerofn serve` started through the CLI itself (the drain test
// calls serve() of src/main.ts directly), driven by the other CLI commands, `aerofn registry at
// <time>` with a time (the CLI test only passes an offset), and SIGTERM ending the process with 0.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/auth/index.js';
import { guestWasm } from './api-harness.js';
import { aerofn, type CliResult } from './cli-harness.js';

const entry = fileURLToPath(new URL('./cli-main.ts', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

function ok(result: CliResult): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

describe('audit: `aerofn serve` through the CLI, driven by the CLI', () => {
  let dir: string;
  let server: ReturnType<typeof spawn>;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-audit-serve-'));
    const secret = randomBytes(24).toString('hex');
    server = spawn(process.execPath, ['--import', 'tsx', entry, 'serve'], {
      cwd: repo,
      env: {
        PATH: process.env['PATH'],
        NODE_NO_WARNINGS: '1',
        AEROFN_DATA_DIR: join(dir, 'data'),
        AEROFN_HTTP_PORT: '0',
        AEROFN_GRPC_PORT: '0',
        AEROFN_JWT_SECRET: secret,
        AEROFN_WORKERS: '1',
        AEROFN_LOG_LEVEL: 'info',
        AEROFN_DRAIN_TIMEOUT_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
    const lines = createInterface({ input: server.stdout! });
    const grpc = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        try {
          const logged = JSON.parse(line) as { msg?: string; grpc?: string };
          if (logged.msg === 'aerofn serving' && logged.grpc !== undefined) resolve(logged.grpc);
        } catch {
          // not a log line
        }
      });
      void exited.then(({ code }) => reject(new Error(`aerofn serve exited with ${code} before serving`)));
    });
    env = { AEROFN_URL: grpc, AEROFN_TOKEN: await mintToken({ secret, role: 'service_role' }) };
    await writeFile(join(dir, 'echo.wasm'), await guestWasm('echo'));
  });
  after(async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys, invokes and shows the registry at a time between two deploys', async () => {
    ok(await aerofn(['deploy', join(dir, 'echo.wasm'), '--name', 'echo', '--no-verify-jwt'], env));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    ok(await aerofn(['deploy', join(dir, 'echo.wasm'), '--name', 'later', '--no-verify-jwt'], env));
    assert.deepEqual(JSON.parse(ok(await aerofn(['invoke', 'later', '{"x":1}'], env))), { x: 1 });

    const atTime = ok(await aerofn(['registry', 'at', between], env));
    assert.match(atTime, /^echo\s+1\s+yes/m);
    assert.doesNotMatch(atTime, /^later\s/m, `"later" was deployed after ${between}:\n${atTime}`);
    const atJson = JSON.parse(ok(await aerofn(['--json', 'registry', 'at', between], env))) as { functions: Array<{ name: string }> };
    assert.deepEqual(atJson.functions.map((fn) => fn.name), ['echo']);
    const now = ok(await aerofn(['registry', 'at', new Date(Date.now() + 1000).toISOString()], env));
    assert.match(now, /^later\s+1\s+yes/m);
  });

  it('stops with exit 0 on SIGTERM', async () => {
    const started = Date.now();
    server.kill('SIGTERM');
    const { code } = await exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    const down = await aerofn(['ls'], env);
    assert.notEqual(down.code, 0, 'the server is gone');
  });
});
