import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { FunctionsApiClient } from '../../src/api/index.js';
import type { ReplayEvent } from '../../src/gen/aerodb/functions/v1/functions.js';
import { dbCall, proxyWasm } from '../unit/host/guest-proxy.js';
import { deploy, request, startHarness, type Harness } from './api-harness.js';
import { aerofn } from './cli-harness.js';

type ReplayReport = { summary: { total: number; matched: number; diverged: number; skipped: number; against: string }; findings: Array<{ invocationId: string; verdict: string; differences: string[] }> };

/**
 * Replay through the product's three doors — REST, gRPC's server stream and `aerofn replay` —
 * over a real service (PGlite on its thread, the pipeline, the sandbox): runs recorded with real
 * database answers are executed again from their journals and compared.
 */
describe('replay end to end (REST, gRPC stream, CLI)', () => {
  let h: Harness;
  const ids: string[] = [];
  let cliEnv: Record<string, string>;

  before(async () => {
    h = await startHarness();
    cliEnv = { AEROFN_URL: h.grpcAddress, AEROFN_TOKEN: h.tokens.serviceRole };
    const wasm = Buffer.from(await proxyWasm()).toString('base64');
    const deployed = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'proxy', wasm, config: { verifyJwt: false } } });
    assert.equal(deployed.status, 201, deployed.text);
    // now() answers differently every time: only the journal makes the replay see the same.
    for (const sql of ['select 1 as one', 'select now()::text as t', 'select md5(random()::text) as noise']) {
      const called = await request(h, 'POST', '/functions/v1/proxy', { body: dbCall(sql), contentType: 'application/json' });
      assert.equal(called.status, 200, called.text);
    }
    for (;;) {
      const listed = await request(h, 'GET', '/functions/v1/proxy/invocations?limit=10', { token: h.tokens.serviceRole });
      const invocations = (listed.body as { invocations: Array<{ id: string }> }).invocations;
      if (invocations.length === 3) {
        ids.push(...invocations.map((record) => record.id));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => {
    await h.close();
  });

  it('REST: replays the recent runs and finds them all the same', async () => {
    const replayed = await request(h, 'POST', '/functions/v1/proxy/replay', { token: h.tokens.serviceRole, json: {} });
    assert.equal(replayed.status, 200, replayed.text);
    const report = replayed.body as ReplayReport;
    assert.deepEqual(report.summary, { name: 'proxy', against: 'recorded', total: 3, matched: 3, diverged: 0, skipped: 0 });
    // Oldest first: the list is newest first.
    assert.deepEqual(report.findings.map((finding) => finding.invocationId), [...ids].reverse());
    // Counted on /metrics, for an alert on diverged runs.
    const metrics = await request(h, 'GET', '/metrics');
    assert.match(metrics.text, /^aerofn_replay_findings_total\{function="proxy",verdict="match"\} [3-9]\d*$/m);
  });

  it('REST: refuses callers without the service role and queries it cannot run, with the error table', async () => {
    assert.equal((await request(h, 'POST', '/functions/v1/proxy/replay', { json: {} })).status, 401);
    assert.equal((await request(h, 'POST', '/functions/v1/proxy/replay', { token: h.tokens.anon, json: {} })).status, 403);
    const bad = await request(h, 'POST', '/functions/v1/proxy/replay', { token: h.tokens.serviceRole, json: { against: 'tomorrow' } });
    assert.equal(bad.status, 400, bad.text);
    const unknown = await request(h, 'POST', '/functions/v1/proxy/replay', { token: h.tokens.serviceRole, json: { invocationIds: ['no-such-run'] } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match((unknown.body as { error: { message: string } }).error.message, /no record of "no-such-run"/);
  });

  it('gRPC: streams Started, a Finding per record and the Summary', async () => {
    const client = new FunctionsApiClient(h.grpcAddress, { token: h.tokens.serviceRole });
    try {
      const events: ReplayEvent[] = [];
      for await (const event of client.replay({ name: 'proxy', limit: 2, invocationIds: [], against: '' })) events.push(event);
      assert.deepEqual(events.map(({ event }) => event?.$case), ['started', 'finding', 'finding', 'summary']);
      const findings = events.flatMap(({ event }) => (event?.$case === 'finding' ? [event.value] : []));
      assert.deepEqual(findings.map((finding) => [finding.done, finding.total, finding.verdict]), [[1, 2, 'match'], [2, 2, 'match']]);
      assert.deepEqual(findings.map((finding) => finding.invocationId), ids.slice(0, 2).reverse());
      await assert.rejects(
        (async () => {
          for await (const event of new FunctionsApiClient(h.grpcAddress, { token: h.tokens.anon }).replay({ name: 'proxy', limit: 0, invocationIds: [], against: '' })) void event;
        })(),
        (error: Error & { kind?: string }) => error.kind === 'Forbidden',
      );
    } finally {
      client.close();
    }
  });

  it('gRPC with grpcurl (reflection, a client we did not write): the stream as JSON messages', async () => {
    const grpcurl = new URL('../../.cache/bin/grpcurl', import.meta.url).pathname;
    assert.ok(existsSync(grpcurl), 'grpcurl is missing: run `make tools` (scripts/install-tools.sh) first');
    const { stdout } = await promisify(execFile)(grpcurl, ['-plaintext', '-H', `authorization: Bearer ${h.tokens.serviceRole}`, '-d', '{"name":"proxy","limit":1}', h.grpcAddress, 'aerodb.functions.v1.Functions/Replay']);
    // grpcurl prints each message as a JSON object, one after another.
    const messages = stdout.split(/\n(?=\{)/).map((text) => JSON.parse(text) as Record<string, { verdict?: string; matched?: number }>);
    assert.deepEqual(messages.map((message) => Object.keys(message)[0]), ['started', 'finding', 'summary']);
    assert.equal(messages[1]?.['finding']?.verdict, 'match');
    assert.equal(messages[2]?.['summary']?.matched, 1);
  });

  it('CLI: prints a table and exits 0 when every run matches, 1 when a new version diverges', async () => {
    const same = await aerofn(['replay', 'proxy'], cliEnv);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /^INVOCATION\s+ATTEMPT\s+VERSION\s+VERDICT\s+DIFFERENCE$/m);
    assert.match(same.stdout, /replayed 3 run\(s\) of proxy against the recorded versions: 3 match, 0 diverged, 0 skipped/);

    // Version 2 answers every input itself, without asking the database.
    assert.equal((await deploy(h, 'proxy', 'echo', { config: { verifyJwt: false } })).status, 201);
    const changed = await aerofn(['--json', 'replay', 'proxy', '--against', 'current', '--id', ids[0]!], cliEnv);
    assert.equal(changed.code, 1, changed.stderr);
    const report = JSON.parse(changed.stdout) as ReplayReport & { findings: Array<{ recordedVersion: number; replayedVersion: number }> };
    assert.equal(report.summary.diverged, 1);
    assert.equal(report.findings[0]?.recordedVersion, 1);
    assert.equal(report.findings[0]?.replayedVersion, 2);
    assert.match(report.findings[0]?.differences[0] ?? '', /the recorded run made 1 more host call/);
    // The recorded version is kept in the registry: against it the run still matches.
    const audit = await aerofn(['replay', 'proxy', '--id', ids[0]!], cliEnv);
    assert.equal(audit.code, 0, audit.stderr);

    const bad = await aerofn(['replay', 'proxy', '--against', 'later'], cliEnv);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--against must be recorded or current/);
  });
});
