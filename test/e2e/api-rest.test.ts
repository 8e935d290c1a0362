import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deploy, guestWasm, request, startHarness, type Harness } from './api-harness.js';

type ErrorBody = { error: { kind: string; code: string; message: string } };

function assertError(response: { status: number; body: unknown; text: string }, status: number, kind: string): ErrorBody['error'] {
  assert.equal(response.status, status, response.text);
  const body = response.body as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'kind', 'message']);
  assert.equal(body.error.kind, kind, response.text);
  assert.match(body.error.code, /^AEROFN_/);
  assert.ok(body.error.message.length > 10);
  return body.error;
}

describe('REST /functions/v1 end to end (real registry, invoker and sandbox)', () => {
  let h: Harness;
  const limits = { timeoutMs: 300, memoryMb: 16, verifyJwt: false };

  before(async () => {
    h = await startHarness({ AEROFN_HTTP_BODY_LIMIT_BYTES: String(64 * 1024) });
  });
  after(async () => {
    await h.close();
  });

  it('answers /healthz and /readyz once the registry caught up', async () => {
    assert.equal((await request(h, 'GET', '/healthz')).status, 200);
    const ready = await request(h, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal((ready.body as { status: string }).status, 'ready');
  });

  it('deploys, lists, gets and invokes a function; invoke answers 200 with its output as the body', async () => {
    const deployed = await deploy(h, 'echo', 'echo', { config: { verifyJwt: false } });
    assert.equal(deployed.status, 201, deployed.text);
    assert.equal((deployed.body as { version: number }).version, 1);

    const list = await request(h, 'GET', '/functions/v1', { token: h.tokens.anon });
    assert.equal(list.status, 200);
    assert.ok((list.body as { functions: Array<{ name: string }> }).functions.some((fn) => fn.name === 'echo'));

    const got = await request(h, 'GET', '/functions/v1/echo', { token: h.tokens.anon });
    assert.equal(got.status, 200);
    assert.deepEqual((got.body as { triggers: unknown }).triggers, [{ type: 'http' }]);

    const viaAlias = await request(h, 'POST', '/functions/v1/echo', { json: { hello: 'world' } });
    assert.equal(viaAlias.status, 200, viaAlias.text);
    assert.deepEqual(viaAlias.body, { hello: 'world' });
    assert.match(viaAlias.headers.get('content-type') ?? '', /application\/json/);
    assert.ok(viaAlias.headers.get('x-aerofn-invocation-id'));

    const viaInvoke = await request(h, 'POST', '/functions/v1/invoke/echo', { json: [1, 2, 3] });
    assert.deepEqual(viaInvoke.body, [1, 2, 3]);

    const text = await request(h, 'POST', '/functions/v1/echo', { body: 'plain words', contentType: 'text/plain' });
    assert.equal(text.body, 'plain words');
  });

  it('lists recent invocation records newest first for the service role only', async () => {
    await request(h, 'POST', '/functions/v1/echo', { json: { n: 'newest' } });
    const records = await request(h, 'GET', '/functions/v1/echo/invocations?limit=2', { token: h.tokens.serviceRole });
    assert.equal(records.status, 200, records.text);
    const invocations = (records.body as { invocations: Array<{ input: string; function: string }> }).invocations;
    assert.equal(invocations.length, 2);
    assert.deepEqual(JSON.parse(invocations[0]!.input), { n: 'newest' });
    assertError(await request(h, 'GET', '/functions/v1/echo/invocations', { token: h.tokens.anon }), 403, 'Forbidden');
    assertError(await request(h, 'GET', '/functions/v1/echo/invocations?limit=zero', { token: h.tokens.serviceRole }), 400, 'BadRequest');
  });

  it('404 NotFound for an unknown function and an unknown route', async () => {
    assertError(await request(h, 'POST', '/functions/v1/no-such-fn', { json: {} }), 404, 'NotFound');
    assertError(await request(h, 'GET', '/functions/v1/no-such-fn', { token: h.tokens.anon }), 404, 'NotFound');
    assertError(await request(h, 'GET', '/nowhere'), 404, 'NotFound');
  });

  it('400 InvalidWasm for a module without the ABI exports and for bytes that are not wasm', async () => {
    assertError(await deploy(h, 'bad-module', 'noHandler'), 400, 'InvalidWasm');
    const garbage = await request(h, 'POST', '/functions/v1/deploy', {
      token: h.tokens.serviceRole,
      json: { name: 'garbage', wasm: Buffer.from('not wasm at all').toString('base64') },
    });
    assertError(garbage, 400, 'InvalidWasm');
  });

  it('504 Timeout, 507 OutOfMemory, 500 RuntimePanic and 500 HostFunctionError from real guests', async () => {
    const cases = [
      { name: 'spin', guest: 'loop', status: 504, kind: 'Timeout' },
      { name: 'bomb', guest: 'memoryBomb', status: 507, kind: 'OutOfMemory' },
      { name: 'panic', guest: 'panic', status: 500, kind: 'RuntimePanic' },
      { name: 'refused', guest: 'hostRefusal', status: 500, kind: 'HostFunctionError' },
    ] as const;
    for (const c of cases) {
      const deployed = await deploy(h, c.name, c.guest, { config: limits });
      assert.equal(deployed.status, 201, deployed.text);
    }
    for (const c of cases) {
      const started = Date.now();
      const response = await request(h, 'POST', `/functions/v1/${c.name}`, { json: {} });
      const error = assertError(response, c.status, c.kind);
      if (c.kind === 'Timeout') assert.ok(Date.now() - started < 300 + 2000, 'the timeout holds');
      if (c.kind === 'HostFunctionError') assert.match(error.message, /allowedHosts/);
      assert.ok(response.headers.get('x-aerofn-invocation-id'));
    }
    // A failing function does not affect the others.
    assert.equal((await request(h, 'POST', '/functions/v1/echo', { json: 1 })).status, 200);
  });

  it('400 BadRequest for malformed JSON, unknown fields, wrong types and a bad cron', async () => {
    const malformed = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, body: '{"name": "x", ' });
    assert.match(assertError(malformed, 400, 'BadRequest').message, /JSON/);

    const wasm = Buffer.from(await guestWasm('echo')).toString('base64');
    const unknownField = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x1', wasm, timeout: 5 } });
    assert.match(assertError(unknownField, 400, 'BadRequest').message, /unknown field "timeout"/);

    const unknownConfig = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x2', wasm, config: { timeoutMS: 5 } } });
    assert.match(assertError(unknownConfig, 400, 'BadRequest').message, /timeoutMS/);

    const wrongType = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x3', wasm, config: { memoryMb: '64' } } });
    assert.match(assertError(wrongType, 400, 'BadRequest').message, /memoryMb/);

    const badTrigger = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x4', wasm, triggers: [{ type: 'carrier-pigeon' }] } });
    assertError(badTrigger, 400, 'BadRequest');

    const badCron = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x5', wasm, triggers: [{ type: 'schedule', cron: 'every tuesday' }] } });
    assert.match(assertError(badCron, 400, 'BadRequest').message, /cron/i);

    const notBase64 = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'x6', wasm: '***' } });
    assert.match(assertError(notBase64, 400, 'BadRequest').message, /base64/);

    const badPayload = await request(h, 'POST', '/functions/v1/echo', { body: '{oops' });
    assertError(badPayload, 400, 'BadRequest');
  });

  it('401 without or with a bad JWT, 403 for the wrong role', async () => {
    assertError(await deploy({ ...h, tokens: { ...h.tokens, serviceRole: 'not.a.jwt' } }, 'x7', 'echo'), 401, 'Unauthorized');
    const wasm = Buffer.from(await guestWasm('echo')).toString('base64');
    assertError(await request(h, 'POST', '/functions/v1/deploy', { json: { name: 'x8', wasm } }), 401, 'Unauthorized');
    assertError(await request(h, 'GET', '/functions/v1'), 401, 'Unauthorized');
    assertError(await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.authenticated, json: { name: 'x9', wasm } }), 403, 'Forbidden');
    assertError(await request(h, 'DELETE', '/functions/v1/echo', { token: h.tokens.anon }), 403, 'Forbidden');

    // verifyJwt (the default) makes invoke need a JWT; the caller's role reaches the guest.
    assert.equal((await deploy(h, 'guarded', 'echo')).status, 201);
    assertError(await request(h, 'POST', '/functions/v1/guarded', { json: {} }), 401, 'Unauthorized');
    const forged = `${h.tokens.anon.slice(0, -4)}AAAA`;
    assertError(await request(h, 'POST', '/functions/v1/guarded', { json: {}, token: forged }), 401, 'Unauthorized');
    assert.equal((await request(h, 'POST', '/functions/v1/guarded', { json: {}, token: h.tokens.authenticated })).status, 200);
    // A bad token is refused even where none is needed.
    assertError(await request(h, 'POST', '/functions/v1/echo', { json: {}, token: 'garbage' }), 401, 'Unauthorized');
  });

  it('409 Conflict when the expected version is stale', async () => {
    assert.equal((await deploy(h, 'versioned', 'echo', { expectedVersion: 0 })).status, 201);
    assert.equal((await deploy(h, 'versioned', 'echo', { expectedVersion: 1 })).status, 201);
    assertError(await deploy(h, 'versioned', 'echo', { expectedVersion: 1 }), 409, 'Conflict');
    assertError(await request(h, 'DELETE', '/functions/v1/versioned?expectedVersion=1', { token: h.tokens.serviceRole }), 409, 'Conflict');
  });

  it('413 PayloadTooLarge above the body limit', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(70 * 1024) });
    const response = await request(h, 'POST', '/functions/v1/echo', { body: big });
    assert.match(assertError(response, 413, 'PayloadTooLarge').message, /AEROFN_HTTP_BODY_LIMIT_BYTES/);
  });

  it('undeploys with the service role; the function is gone afterwards', async () => {
    assert.equal((await deploy(h, 'short-lived', 'echo', { config: limits })).status, 201);
    const removed = await request(h, 'DELETE', '/functions/v1/short-lived', { token: h.tokens.serviceRole });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.body, { name: 'short-lived', version: 1 });
    assertError(await request(h, 'POST', '/functions/v1/short-lived', { json: {} }), 404, 'NotFound');
    assertError(await request(h, 'DELETE', '/functions/v1/short-lived', { token: h.tokens.serviceRole }), 404, 'NotFound');
  });

  it('exposes invocation counters and durations on /metrics and the topology as JSON', async () => {
    const metrics = await request(h, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /aerofn_invocations_total\{function="echo",trigger="http",outcome="ok"\} \d+/);
    assert.match(metrics.text, /aerofn_invocations_total\{function="spin",trigger="http",outcome="Timeout"\} 1/);
    assert.match(metrics.text, /aerofn_invocation_duration_seconds_bucket\{/);
    assert.match(metrics.text, /process_cpu_seconds_total/);
    assert.match(metrics.text, /\naerofn_invocation_records_dropped_total 0\n/, 'no invocation record was dropped');
    // The refused http_fetch of the HostFunctionError guest, read from its record's journal.
    assert.match(metrics.text, /aerofn_host_calls_total\{function="refused",host_function="http_fetch",outcome="error"\} 1\n/);
    assert.match(metrics.text, /aerofn_host_call_duration_seconds_count\{function="refused",host_function="http_fetch"\} 1\n/);
    const topology = await request(h, 'GET', '/topology.json');
    assert.equal(topology.status, 200);
    const nodes = (topology.body as { nodes: Array<{ name: string; type: string }> }).nodes;
    assert.ok(nodes.some((node) => node.type === 'source'), topology.text);
  });
});
