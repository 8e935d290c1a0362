// Acceptance audit, issue 2 Build 1 and 5: "The `aerofn` command is the package's bin". Every other
// CLI test runs src/cli through tsx; this one runs the bin package.json names (bin/aerofn.js, which
// loads dist/ — `make test` builds first).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture } from '../fixtures/wasm/compile-fixture.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> };

async function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repo, pkg.bin['aerofn']!), ...args], { cwd: repo, env: { PATH: process.env['PATH'], AEROFN_LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('audit: the package bin `aerofn`', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-audit-bin-'));
    await writeFile(join(dir, 'echo.wasm'), await compileFixture('echo'));
    await writeFile(join(dir, 'trap.wasm'), await compileFixture('trap'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('is bin/aerofn.js and lists every command of the issue', async () => {
    assert.equal(pkg.bin['aerofn'], 'bin/aerofn.js');
    const help = await bin('--help');
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['serve', 'run', 'deploy', 'invoke', 'ls', 'get', 'rm', 'registry', 'topology']) {
      assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `aerofn --help lists ${command}`);
    }
  });

  it('runs a module with `aerofn run` and prints one JSON object, exit 0 or 1', async () => {
    const ok = await bin('run', join(dir, 'echo.wasm'), '--input', '{"via":"bin"}');
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as { ok: boolean; output: unknown };
    assert.deepEqual([result.ok, result.output], [true, { via: 'bin' }]);
    const failed = await bin('run', join(dir, 'trap.wasm'));
    assert.equal(failed.code, 1);
    const error = (JSON.parse(failed.stdout) as { ok: boolean; error: { kind: string; httpStatus: number } }).error;
    assert.deepEqual([error.kind, error.httpStatus], ['RuntimePanic', 500]);
  });
});
