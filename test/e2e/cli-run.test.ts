import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, pseudoRandomBytes } from '../fixtures/wasm/compile-fixture.js';

const run = promisify(execFile);
const runCommand = fileURLToPath(new URL('../../src/cli/commands/run.ts', import.meta.url));
// The `run` command exactly as `aerofn` registers it, from source (no build step needed).
const entry = `
import { Command } from 'commander';
const { registerRunCommand } = await import(${JSON.stringify(runCommand)});
const program = new Command('aerofn');
registerRunCommand(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });
`;

interface CliResult {
  code: number;
  json: { ok: boolean; output?: unknown; durationMs?: number; memoryBytes?: number; error?: { kind: string; code: string; httpStatus: number; message: string } };
  stdout: string;
}

async function aerofnRun(...args: string[]): Promise<CliResult> {
  let stdout: string;
  let code = 0;
  try {
    ({ stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', entry, 'run', ...args], { env: { ...process.env, AEROFN_LOG_LEVEL: 'silent' } }));
  } catch (error) {
    const failed = error as { stdout: string; code: number };
    stdout = failed.stdout;
    code = failed.code;
  }
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one line of JSON expected, got: ${stdout}`);
  return { code, json: JSON.parse(lines[0]!) as CliResult['json'], stdout };
}

describe('aerofn run <file.wasm>', () => {
  let dir: string;
  const path = (name: string) => join(dir, `${name}.wasm`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-cli-run-'));
    const fixtures = ['echo', 'trap', 'div-by-zero', 'infinite-loop', 'memory-bomb', 'initial-memory-over-limit', 'grow-under-limit', 'deep-recursion', 'output-out-of-bounds', 'output-not-json', 'missing-handler', 'missing-memory', 'forbidden-import', 'abort', 'log-flood', 'global-state'];
    for (const name of fixtures) await writeFile(path(name), await compileFixture(name));
    await writeFile(path('random-bytes'), pseudoRandomBytes(2048));
    await writeFile(join(dir, 'input.json'), '{"from":"file"}');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('prints {"ok":true,"output",…} and exits 0 for echo, with --input JSON and @file', async () => {
    const inline = await aerofnRun(path('echo'), '--input', '{"name":"Ada","n":[1,2]}');
    assert.equal(inline.code, 0);
    assert.deepEqual(inline.json.output, { name: 'Ada', n: [1, 2] });
    assert.equal(inline.json.ok, true);
    assert.equal(inline.json.memoryBytes, 65536);
    assert.equal(typeof inline.json.durationMs, 'number');
    assert.deepEqual(Object.keys(inline.json), ['ok', 'output', 'durationMs', 'memoryBytes']);
    const fromFile = await aerofnRun(path('echo'), '--input', `@${join(dir, 'input.json')}`);
    assert.deepEqual(fromFile.json.output, { from: 'file' });
  });

  it('runs a guest under the limits it was given (grow under the limit, fresh globals, capped log flood)', async () => {
    const grow = await aerofnRun(path('grow-under-limit'), '--memory-mb', '8');
    assert.deepEqual(grow.json, { ok: true, output: { pages: 33 }, durationMs: grow.json.durationMs, memoryBytes: 33 * 65536 });
    assert.deepEqual((await aerofnRun(path('global-state'))).json.output, { calls: 1 });
    const flood = await aerofnRun(path('log-flood'));
    assert.equal(flood.code, 0);
    assert.equal(flood.json.output, null);
  });

  const failures: Array<[fixture: string, kind: string, status: number, args: string[]]> = [
    ['trap', 'RuntimePanic', 500, []],
    ['div-by-zero', 'RuntimePanic', 500, []],
    ['infinite-loop', 'Timeout', 504, ['--timeout-ms', '100']],
    ['memory-bomb', 'OutOfMemory', 507, ['--memory-mb', '8']],
    ['initial-memory-over-limit', 'InvalidWasm', 400, []],
    ['deep-recursion', 'StackOverflow', 500, ['--stack-kb', '256']],
    ['output-out-of-bounds', 'RuntimePanic', 500, []],
    ['output-not-json', 'RuntimePanic', 500, []],
    ['missing-handler', 'InvalidWasm', 400, []],
    ['missing-memory', 'InvalidWasm', 400, []],
    ['forbidden-import', 'InvalidWasm', 400, []],
    ['random-bytes', 'InvalidWasm', 400, []],
    ['abort', 'RuntimePanic', 500, []],
  ];
  for (const [fixture, kind, status, args] of failures) {
    it(`prints {"ok":false,"error":{kind:${kind},httpStatus:${status}}} and exits 1 for ${fixture}`, async () => {
      const result = await aerofnRun(path(fixture), ...args);
      assert.equal(result.code, 1);
      assert.equal(result.json.ok, false);
      assert.deepEqual(Object.keys(result.json.error ?? {}), ['kind', 'code', 'httpStatus', 'message']);
      assert.equal(result.json.error?.kind, kind);
      assert.equal(result.json.error?.httpStatus, status);
      assert.ok((result.json.error?.message.length ?? 0) > 10);
    });
  }

  it('answers a bad flag, a missing file and input that is not JSON with BadRequest (400)', async () => {
    for (const args of [[path('echo'), '--timeout-ms', 'soon'], [join(dir, 'missing.wasm')], [path('echo'), '--input', '{nope']]) {
      const result = await aerofnRun(...args);
      assert.equal(result.code, 1);
      assert.equal(result.json.error?.kind, 'BadRequest');
      assert.equal(result.json.error?.httpStatus, 400);
    }
  });
});
