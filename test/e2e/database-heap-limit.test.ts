import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { dbCall, proxyWasm } from '../unit/host/guest-proxy.js';
import { request, startHarness, type Harness } from './api-harness.js';

/**
 * A hostile function asks the embedded database for an answer far past AEROFN_PGLITE_HEAP_MB
 * (without the limit, 3,000 rows of 1 MB grew the process past 8 GB). The PGlite thread stops at
 * its limit, not the process: the caller gets a HostFunctionError, /healthz fails so a supervisor
 * restarts the instance, gRPC health stops serving, and the service's `fatal` settles (serve()
 * drains and exits on it).
 */
describe('the embedded database thread under a hostile answer', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ AEROFN_PGLITE_HEAP_MB: '96' });
    const wasm = Buffer.from(await proxyWasm()).toString('base64');
    const deployed = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'proxy', wasm, config: { verifyJwt: false, timeoutMs: 30_000 } } });
    assert.equal(deployed.status, 201, deployed.text);
  });
  after(async () => {
    await h.close();
  });

  it('answers the caller with an error, fails /healthz with the reason and keeps the process', async () => {
    const small = await request(h, 'POST', '/functions/v1/proxy', { body: dbCall('select 1 as one'), contentType: 'application/json' });
    assert.equal(small.status, 200, small.text);
    assert.equal((await request(h, 'GET', '/healthz')).status, 200);

    const hostile = await request(h, 'POST', '/functions/v1/proxy', { body: dbCall("select repeat('x', 1000000) as x from generate_series(1, 400)"), contentType: 'application/json' });
    assert.equal(hostile.status, 500, hostile.text);
    assert.equal((hostile.body as { error: { kind: string } }).error.kind, 'HostFunctionError', hostile.text);

    const fatal = await Promise.race([h.service.fatal, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000, undefined))]);
    assert.ok(fatal !== undefined, 'the service reports its database as stopped for good');
    assert.match(fatal.message, /ran out of memory.*AEROFN_PGLITE_HEAP_MB \(96 MB\)/);

    const health = await request(h, 'GET', '/healthz');
    assert.equal(health.status, 503, health.text);
    assert.deepEqual(Object.keys(health.body as object).sort(), ['reason', 'status']);
    assert.match((health.body as { reason: string }).reason, /AEROFN_PGLITE_HEAP_MB/);
    // gRPC health says the same to a client we did not write (grpcurl, from `make tools`).
    const grpcurl = new URL('../../.cache/bin/grpcurl', import.meta.url).pathname;
    assert.ok(existsSync(grpcurl), 'grpcurl is missing: run `make tools` (scripts/install-tools.sh) first');
    const { stdout } = await promisify(execFile)(grpcurl, ['-plaintext', '-d', '{"service":""}', h.grpcAddress, 'grpc.health.v1.Health/Check']);
    assert.equal((JSON.parse(stdout) as { status: string }).status, 'NOT_SERVING');
    // The process and its servers are alive: the instance drains and restarts on its own terms.
    assert.equal((await request(h, 'GET', '/readyz')).status, 200);
  });
});
