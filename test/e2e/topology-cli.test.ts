// `aerofn topology` against a running server: --text prints the same describe() text that
// /topology.json and the /topology page carry, the table view names the pipeline state and
// lag, and --watch streams snapshots until Ctrl-C.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startHarness, type Harness } from './api-harness.js';
import { aerofn } from './cli-harness.js';

const entry = fileURLToPath(new URL('./cli-main.ts', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('aerofn topology', () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await startHarness();
    env = { AEROFN_URL: h.grpcAddress, AEROFN_TOKEN: h.tokens.anon };
  });
  after(async () => h.close());

  it('prints the describe() text with --text, and state and lag above the table', async () => {
    const json = await request(h, 'GET', '/topology.json');
    const description = (json.body as { description: { text: string; state: string; groupId: string; lag: Array<{ topic: string; partition: number; lag: number }> } }).description;
    const text = await aerofn(['topology', '--text'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, description.text);
    const table = await aerofn(['topology'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^pipeline ${description.state}  mode \\S+  group ${description.groupId}  lag \\d+`, 'm'));
    for (const part of description.lag) assert.ok(table.stdout.includes(`${part.topic}/${part.partition}=`), table.stdout);
    assert.match(table.stdout, /^change-source\s+source\s+-\s+in=\d+/m);
  });

  it('--watch prints snapshots until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'topology', '--watch', '--interval', '200'], {
      cwd: repo,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_NO_WARNINGS: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if ((stdout.match(/^topology at /gm) ?? []).length >= 3) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGINT');
    const code = await exited;
    clearTimeout(killer);
    assert.equal(code, 0, `stderr: ${stderr}\nstdout: ${stdout}`);
    const stamps = [...stdout.matchAll(/^topology at (\S+)$/gm)].map((match) => match[1]);
    assert.ok(stamps.length >= 3, stdout);
    assert.equal(new Set(stamps).size, stamps.length, 'each snapshot is a fresh one');
  });
});
