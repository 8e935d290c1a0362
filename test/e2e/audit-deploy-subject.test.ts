// Acceptance audit, issue 4 Build 3: "The JWT subject of the caller is recorded on each event".
// The registry tests pass the subject in by hand; here it travels from the caller's JWT through
// REST and gRPC into the registry events and the function's deployedBy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/auth/index.js';
import { FunctionsApiClient } from '../../src/api/index.js';
import { guestWasm, request, startHarness, type Harness } from './api-harness.js';

describe('audit: the caller\'s JWT subject is recorded on registry events', () => {
  let h: Harness;
  let client: FunctionsApiClient;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    client?.close();
    await h.close();
  });

  it('records the subject of a REST deploy and a gRPC undeploy', async () => {
    const ops = await mintToken({ secret: h.secret, role: 'service_role', sub: 'ops-alice' });
    const wasm = Buffer.from(await guestWasm('echo')).toString('base64');
    const deployed = await request(h, 'POST', '/functions/v1/deploy', { token: ops, json: { name: 'audited', wasm } });
    assert.equal(deployed.status, 201, deployed.text);
    const got = await request(h, 'GET', '/functions/v1/audited', { token: h.tokens.anon });
    assert.equal((got.body as { deployedBy: string | null }).deployedBy, 'ops-alice', got.text);

    client = new FunctionsApiClient(h.grpcAddress, { token: await mintToken({ secret: h.secret, role: 'service_role', sub: 'ops-bob' }) });
    await client.undeploy('audited');
    const { events } = await client.registryHistory('audited', 0);
    assert.deepEqual(events.map((e) => [e.type, e.by]), [['FunctionDeployed', 'ops-alice'], ['FunctionUndeployed', 'ops-bob']]);
  });
});
