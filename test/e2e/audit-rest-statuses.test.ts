// Acceptance audit, issues 3 and 6: statuses and identity over real REST requests that the existing
// e2e suite does not make — an expired JWT and an alg=none JWT give 401 (the verifier's unit test
// alone does not prove the HTTP layer maps them), runaway recursion gives 500 StackOverflow, an
// HTTP invocation runs as the caller (role and sub in context()), a deploy body over the limit is
// 413. (GET /topology, the page of DESIGN §4.4, is tested in a real Chromium: test/e2e/topology-page.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnsecuredJWT } from 'jose';
import { mintToken } from '../../src/auth/index.js';
import { compileFixture } from '../fixtures/wasm/compile-fixture.js';
import { deploy, request, startHarness, type Harness } from './api-harness.js';

type ErrorBody = { error: { kind: string; code: string; message: string } };

function assertError(response: { status: number; body: unknown; text: string }, status: number, kind: string): void {
  assert.equal(response.status, status, response.text);
  const body = response.body as ErrorBody;
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'kind', 'message']);
  assert.equal(body.error.kind, kind, response.text);
}

describe('audit: REST statuses and caller identity', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ AEROFN_HTTP_BODY_LIMIT_BYTES: String(64 * 1024) });
    assert.equal((await deploy(h, 'guarded', 'echo')).status, 201);
    const context = Buffer.from(await compileFixture('context')).toString('base64');
    const ctx = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'whoami', wasm: context } });
    assert.equal(ctx.status, 201, ctx.text);
    const recursion = Buffer.from(await compileFixture('deep-recursion')).toString('base64');
    const deep = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'deep', wasm: recursion, config: { verifyJwt: false } } });
    assert.equal(deep.status, 201, deep.text);
  });
  after(async () => h.close());

  it('401 for an expired token and for alg=none, on invoke, list and deploy', async () => {
    const expired = await mintToken({ secret: h.secret, role: 'service_role', expiresInSeconds: -60 });
    assertError(await request(h, 'POST', '/functions/v1/guarded', { json: {}, token: expired }), 401, 'Unauthorized');
    assertError(await request(h, 'GET', '/functions/v1', { token: expired }), 401, 'Unauthorized');
    const none = new UnsecuredJWT({ role: 'service_role' }).setIssuedAt().setExpirationTime('1h').encode();
    assertError(await request(h, 'POST', '/functions/v1/guarded', { json: {}, token: none }), 401, 'Unauthorized');
    assertError(await deploy({ ...h, tokens: { ...h.tokens, serviceRole: none } }, 'by-none', 'echo'), 401, 'Unauthorized');
    assertError(await deploy({ ...h, tokens: { ...h.tokens, serviceRole: expired } }, 'by-expired', 'echo'), 401, 'Unauthorized');
    // The refused deploys wrote nothing.
    assertError(await request(h, 'GET', '/functions/v1/by-none', { token: h.tokens.anon }), 404, 'NotFound');
  });

  it('500 StackOverflow for runaway recursion, and the service keeps answering', async () => {
    assertError(await request(h, 'POST', '/functions/v1/deep', { json: {} }), 500, 'StackOverflow');
    assert.equal((await request(h, 'POST', '/functions/v1/guarded', { json: { still: 'here' }, token: h.tokens.anon })).status, 200);
  });

  it('runs an HTTP invocation as the caller: role and sub of the JWT in context()', async () => {
    const asUser = await request(h, 'POST', '/functions/v1/whoami', { json: {}, token: h.tokens.authenticated });
    assert.equal(asUser.status, 200, asUser.text);
    const seen = asUser.body as { role: string; sub: string | null; trigger: string; invocationId: string };
    assert.equal(seen.role, 'authenticated');
    assert.equal(seen.sub, 'user-1');
    assert.equal(seen.trigger, 'http');
    assert.equal(seen.invocationId, asUser.headers.get('x-aerofn-invocation-id'));
    const asAnon = await request(h, 'POST', '/functions/v1/whoami', { json: {}, token: h.tokens.anon });
    assert.equal((asAnon.body as { role: string }).role, 'anon');
  });

  it('413 for a deploy body above the limit', async () => {
    const huge = Buffer.alloc(80 * 1024, 1).toString('base64');
    assertError(await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'huge', wasm: huge } }), 413, 'PayloadTooLarge');
  });
});
