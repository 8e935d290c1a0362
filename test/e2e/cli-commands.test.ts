import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestWasm, startHarness, type Harness } from './api-harness.js';
import { aerofn, type CliResult } from './cli-harness.js';

function ok(result: CliResult): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

describe('aerofn CLI against a running server', () => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), 'aerofn-cli-'));
    env = { AEROFN_URL: h.grpcAddress, AEROFN_TOKEN: h.tokens.serviceRole };
    await writeFile(join(dir, 'echo.wasm'), await guestWasm('echo'));
    await writeFile(join(dir, 'spin.wasm'), await guestWasm('loop'));
    await writeFile(
      join(dir, 'aerofn.json'),
      JSON.stringify({ name: 'echo', module: 'echo.wasm', config: { memoryMb: 16, verifyJwt: false }, triggers: [{ type: 'http' }] }),
    );
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys from a manifest folder and from a .wasm file with flags', async () => {
    assert.match(ok(await aerofn(['deploy', dir], env)), /^deployed echo v1 \(sha256 [0-9a-f]{12}\) triggers: http$/m);
    const flags = await aerofn(
      ['deploy', join(dir, 'spin.wasm'), '--name', 'spin', '--timeout-ms', '300', '--memory-mb', '16', '--no-verify-jwt', '--trigger', 'http', '--trigger', 'database:notes:INSERT,UPDATE', '--trigger', 'schedule:*/5 * * * *@Europe/Paris'],
      env,
    );
    assert.match(ok(flags), /deployed spin v1 .* triggers: http, db:notes\[INSERT,UPDATE\], cron:\*\/5 \* \* \* \*@Europe\/Paris/);
    const json = JSON.parse(ok(await aerofn(['--json', 'deploy', join(dir, 'aerofn.json')], env))) as { version: number; config: { memoryMb: number } };
    assert.equal(json.version, 2);
    assert.equal(json.config.memoryMb, 16);
  });

  it('lists and shows functions as tables and as JSON', async () => {
    const table = ok(await aerofn(['ls'], env));
    assert.match(table, /^NAME\s+VERSION\s+ENABLED\s+TRIGGERS\s+SHA256\s+DEPLOYED$/m);
    assert.match(table, /^echo\s+2\s+yes\s+http\s+[0-9a-f]{12}/m);
    const listed = JSON.parse(ok(await aerofn(['ls', '--json'], env))) as { functions: Array<{ name: string }> };
    assert.deepEqual(listed.functions.map((fn) => fn.name).sort(), ['echo', 'spin']);
    const shown = ok(await aerofn(['get', 'spin'], env));
    assert.match(shown, /^timeout\s+300 ms$/m);
    assert.match(shown, /^verify JWT\s+no$/m);
    const got = JSON.parse(ok(await aerofn(['get', 'spin', '--json'], env))) as { triggers: unknown[] };
    assert.deepEqual(got.triggers[2], { type: 'schedule', cron: '*/5 * * * *', timezone: 'Europe/Paris' });
  });

  it('invokes with a payload argument, a file or stdin, and reports a failure with its kind', async () => {
    assert.deepEqual(JSON.parse(ok(await aerofn(['invoke', 'echo', '{"a":1}'], env))), { a: 1 });
    await writeFile(join(dir, 'payload.json'), '[1,2]');
    assert.deepEqual(JSON.parse(ok(await aerofn(['invoke', 'echo', '--data', join(dir, 'payload.json')], env))), [1, 2]);
    assert.deepEqual(JSON.parse(ok(await aerofn(['invoke', 'echo', '--data', '-'], env, '"from stdin"'))), 'from stdin');
    const json = JSON.parse(ok(await aerofn(['--json', 'invoke', 'echo', '{"b":2}'], env))) as { invocationId: string; output: unknown; version: number };
    assert.deepEqual(json.output, { b: 2 });
    assert.ok(json.invocationId.length > 0);

    const timeout = await aerofn(['invoke', 'spin'], env);
    assert.equal(timeout.code, 1);
    assert.match(timeout.stderr, /timeout/i);
    const badPayload = await aerofn(['invoke', 'echo', '{nope'], env);
    assert.equal(badPayload.code, 1);
    assert.match(badPayload.stderr, /not JSON/);
  });

  it('shows the registry history and the registry at an offset', async () => {
    const history = ok(await aerofn(['registry', 'history'], env));
    assert.match(history, /^OFFSET\s+AT\s+EVENT\s+NAME\s+VERSION\s+BY\s+RESULT$/m);
    assert.match(history, /FunctionDeployed\s+echo\s+1/);
    const events = (JSON.parse(ok(await aerofn(['registry', 'history', 'echo', '--json'], env))) as { events: Array<{ version: number }> }).events;
    assert.deepEqual(events.map((e) => e.version), [1, 2]);
    const at = ok(await aerofn(['registry', 'at', '0'], env));
    assert.match(at, /registry through offset 0/);
    assert.match(at, /^echo\s+1\s+yes/m);
    const bad = await aerofn(['registry', 'at', 'yesterday-ish'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /neither an offset nor a time/);
  });

  it("lists a function's recent invocations as a table and as the records themselves", async () => {
    // The four echo invocations above (over gRPC, recorded after their answers) and spin's timeout.
    let records: Array<{ input: string; trigger: string; outcome: { ok: boolean; error?: { kind: string } } }> = [];
    for (const deadline = Date.now() + 5000; records.length < 4 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      records = (JSON.parse(ok(await aerofn(['--json', 'invocations', 'echo'], env))) as { invocations: typeof records }).invocations;
    }
    assert.deepEqual(records.map((r) => r.input).sort(), ['"from stdin"', '[1,2]', '{"a":1}', '{"b":2}']);
    assert.ok(records.every((r) => r.trigger === 'grpc' && r.outcome.ok));
    const table = ok(await aerofn(['invocations', 'echo', '--limit', '2'], env));
    assert.match(table, /^STARTED\s+ID\s+VERSION\s+TRIGGER\s+ATTEMPT\s+OUTCOME\s+DURATION$/m);
    assert.equal(table.trim().split('\n').length, 3, table);
    assert.match(ok(await aerofn(['invocations', 'spin'], env)), /\bgrpc\s+1\s+Timeout\s+[\d.]+ ms$/m);
    const badLimit = await aerofn(['invocations', 'echo', '--limit', '0'], env);
    assert.equal(badLimit.code, 1);
    assert.match(badLimit.stderr, /--limit must be a whole number from 1 to 1000/);
  });

  it('prints the topology', async () => {
    assert.match(ok(await aerofn(['topology'], env)), /^STAGE\s+TYPE\s+INPUTS\s+METRICS$/m);
    const json = JSON.parse(ok(await aerofn(['topology', '--json'], env))) as { nodes: Array<{ type: string }> };
    assert.ok(json.nodes.some((node) => node.type === 'source'));
  });

  it('undeploys, then says what to do when a function is missing', async () => {
    assert.match(ok(await aerofn(['rm', 'spin'], env)), /undeployed spin \(was v1\)/);
    const missing = await aerofn(['get', 'spin'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no function named "spin"/);
    assert.match(missing.stderr, /aerofn ls/);
  });

  it('explains a missing token, the wrong role and an unreachable server', async () => {
    const noToken = await aerofn(['deploy', dir], { AEROFN_URL: h.grpcAddress });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /AEROFN_TOKEN/);
    const anon = await aerofn(['rm', 'echo'], { AEROFN_URL: h.grpcAddress, AEROFN_TOKEN: h.tokens.anon });
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /service_role/);
    const down = await aerofn(['ls'], { AEROFN_URL: '127.0.0.1:1', AEROFN_TOKEN: h.tokens.anon });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /make run/);
    const json = await aerofn(['--json', 'ls'], { AEROFN_URL: '127.0.0.1:1' });
    assert.equal((JSON.parse(json.stderr) as { error: { kind: string } }).error.kind, 'Unavailable');
  });

  it('rejects a manifest with unknown fields before contacting the server', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ module: 'echo.wasm', timeout: 5 }));
    const bad = await aerofn(['deploy', join(dir, 'bad.json')], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown field "timeout"/);
  });
});
