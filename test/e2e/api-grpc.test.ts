import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { FunctionsApiClient } from '../../src/api/index.js';
import { FunctionError } from '../../src/errors/index.js';
import { guestWasm, startHarness, type Harness } from './api-harness.js';

const run = promisify(execFile);
const grpcurl = new URL('../../.cache/bin/grpcurl', import.meta.url).pathname;

async function rejectsWith(promise: Promise<unknown>, kind: string, code: grpc.status): Promise<FunctionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FunctionError, String(error));
    assert.equal(error.kind, kind, error.message);
    assert.equal((error.cause as grpc.ServiceError).code, code, `gRPC status ${grpc.status[code]}`);
    return error;
  }
  assert.fail(`expected ${kind}`);
}

describe('gRPC aerodb.functions.v1.Functions end to end', () => {
  let h: Harness;
  let admin: FunctionsApiClient;
  let anon: FunctionsApiClient;
  let nobody: FunctionsApiClient;

  before(async () => {
    h = await startHarness();
    admin = new FunctionsApiClient(h.grpcAddress, { token: h.tokens.serviceRole });
    anon = new FunctionsApiClient(h.grpcAddress, { token: h.tokens.anon });
    nobody = new FunctionsApiClient(h.grpcAddress);
  });
  after(async () => {
    admin.close();
    anon.close();
    nobody.close();
    await h.close();
  });

  describe('with the generated client', () => {
    it('deploys, gets, lists and invokes', async () => {
      const { function: info } = await admin.deploy({
        name: 'echo',
        wasm: Buffer.from(await guestWasm('echo')),
        config: { allowedHosts: [], allowedEnv: [], verifyJwt: false, memoryMb: 16 },
        triggers: [{ kind: { $case: 'http', value: {} } }, { kind: { $case: 'database', value: { table: 'notes', operations: ['insert'], filterJson: '' } } }],
      });
      assert.equal(info?.version, 1);
      assert.equal(info?.config?.memoryMb, 16);
      assert.deepEqual(info?.triggers[1]?.kind, { $case: 'database', value: { table: 'notes', operations: ['INSERT'], filterJson: '' } });

      const got = await anon.getFunction('echo');
      assert.equal(got.sha256, info?.sha256);
      const list = await anon.listFunctions();
      assert.deepEqual(list.functions.map((fn) => fn.name), ['echo']);
      assert.match(list.stateHash, /^[0-9a-f]{64}$/);

      const result = await nobody.invoke('echo', '{"via":"grpc"}');
      assert.deepEqual(JSON.parse(result.output), { via: 'grpc' });
      assert.equal(result.version, 1);
      assert.ok(result.invocationId.length > 0);
      assert.equal((await nobody.invoke('echo', '')).output, 'null');
    });

    it('maps the error table to gRPC statuses with the kind in the trailers', async () => {
      await rejectsWith(nobody.invoke('missing', '{}'), 'NotFound', grpc.status.NOT_FOUND);
      await rejectsWith(admin.deploy({ name: 'bad', wasm: Buffer.from(await guestWasm('noHandler')), config: undefined, triggers: [] }), 'InvalidWasm', grpc.status.INVALID_ARGUMENT);
      const limits = { allowedHosts: [], allowedEnv: [], verifyJwt: false, timeoutMs: 300, memoryMb: 16 };
      for (const [name, guest] of [['spin', 'loop'], ['bomb', 'memoryBomb'], ['panic', 'panic'], ['refused', 'hostRefusal']] as const) {
        await admin.deploy({ name, wasm: Buffer.from(await guestWasm(guest)), config: limits, triggers: [] });
      }
      const timeout = await rejectsWith(nobody.invoke('spin', '{}'), 'Timeout', grpc.status.DEADLINE_EXCEEDED);
      assert.match(String((timeout.cause as grpc.ServiceError).metadata.get('aerofn-invocation-id')[0]), /^[0-9a-f-]{36}$/);
      await rejectsWith(nobody.invoke('bomb', '{}'), 'OutOfMemory', grpc.status.RESOURCE_EXHAUSTED);
      await rejectsWith(nobody.invoke('panic', '{}'), 'RuntimePanic', grpc.status.INTERNAL);
      await rejectsWith(nobody.invoke('refused', '{}'), 'HostFunctionError', grpc.status.INTERNAL);
      await rejectsWith(nobody.invoke('echo', '{not json'), 'BadRequest', grpc.status.INVALID_ARGUMENT);
    });

    it('needs a JWT, and the service role for deploy and undeploy', async () => {
      const wasm = Buffer.from(await guestWasm('echo'));
      await rejectsWith(nobody.deploy({ name: 'x', wasm, config: undefined, triggers: [] }), 'Unauthorized', grpc.status.UNAUTHENTICATED);
      await rejectsWith(anon.deploy({ name: 'x', wasm, config: undefined, triggers: [] }), 'Forbidden', grpc.status.PERMISSION_DENIED);
      await rejectsWith(anon.undeploy('echo'), 'Forbidden', grpc.status.PERMISSION_DENIED);
      await rejectsWith(nobody.listFunctions(), 'Unauthorized', grpc.status.UNAUTHENTICATED);
      await assert.rejects(
        async () => {
          for await (const snapshot of nobody.watchTopology(100)) assert.fail(`a stream without a JWT sent ${snapshot.capturedAt}`);
        },
        (error: unknown) => error instanceof FunctionError && error.kind === 'Unauthorized',
      );
      const forged = new FunctionsApiClient(h.grpcAddress, { token: `${h.tokens.serviceRole.slice(0, -3)}abc` });
      await rejectsWith(forged.listFunctions(), 'Unauthorized', grpc.status.UNAUTHENTICATED);
      forged.close();
    });

    it('rejects a stale expected version with ABORTED (Conflict)', async () => {
      const wasm = Buffer.from(await guestWasm('echo'));
      await admin.deploy({ name: 'versioned', wasm, config: undefined, triggers: [], expectedVersion: 0 });
      await rejectsWith(admin.deploy({ name: 'versioned', wasm, config: undefined, triggers: [], expectedVersion: 0 }), 'Conflict', grpc.status.ABORTED);
    });

    it('reads the registry history and the registry at an offset', async () => {
      await admin.undeploy('versioned');
      const { events } = await admin.registryHistory('versioned', 0);
      // The stale deploy was refused before it was written, so the log holds only what happened.
      assert.deepEqual(events.map((e) => [e.type, e.accepted]), [['FunctionDeployed', true], ['FunctionUndeployed', true]]);
      const all = await admin.registryHistory('', 0);
      assert.ok(all.events.length >= events.length + 5, `${all.events.length} events`);
      assert.deepEqual(all.events.map((e) => e.offset), [...all.events.map((e) => e.offset)].sort((a, b) => a - b));
      const first = all.events[0]!;
      const past = await admin.registryAt({ offset: first.offset });
      assert.deepEqual(past.functions.map((fn) => fn.name), [first.name]);
      assert.equal(past.throughOffset, first.offset);
      await rejectsWith(anon.registryHistory('', 0), 'Forbidden', grpc.status.PERMISSION_DENIED);
    });

    it("lists a function's recent invocation records, newest first, for the service role only", async () => {
      // The echo invocations of the first test, recorded after their answers went out.
      let listed = await admin.listInvocations('echo', 0);
      for (const deadline = Date.now() + 5000; listed.invocations.length < 2 && Date.now() < deadline; listed = await admin.listInvocations('echo', 0)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(listed.invocations.length, 2, JSON.stringify(listed));
      const records = listed.invocations.map((summary) => JSON.parse(summary.recordJson) as { id: string; input: string; outcome: { ok: boolean } });
      assert.deepEqual(records.map((record) => record.input).sort(), ['null', '{"via":"grpc"}']);
      assert.deepEqual(listed.invocations.map((summary) => summary.id), records.map((record) => record.id));
      assert.ok(listed.invocations.every((i) => i.trigger === 'grpc' && i.ok && i.errorKind === '' && i.version === 1 && i.attempt === 1 && i.durationMs > 0));
      assert.ok(listed.invocations[0]!.startedAt >= listed.invocations[1]!.startedAt, 'newest first');
      assert.equal((await admin.listInvocations('echo', 1)).invocations.length, 1);

      const refused = (await admin.listInvocations('refused', 0)).invocations;
      assert.ok(refused.length >= 1 && refused.every((i) => !i.ok && i.errorKind === 'HostFunctionError'), JSON.stringify(refused));

      await rejectsWith(anon.listInvocations('echo', 0), 'Forbidden', grpc.status.PERMISSION_DENIED);
      await rejectsWith(nobody.listInvocations('echo', 0), 'Unauthorized', grpc.status.UNAUTHENTICATED);
      await rejectsWith(admin.listInvocations('no-such-function', 0), 'NotFound', grpc.status.NOT_FOUND);
      await rejectsWith(admin.listInvocations('echo', 1001), 'BadRequest', grpc.status.INVALID_ARGUMENT);
    });

    it('describes the topology and streams snapshots until cancelled', async () => {
      const topology = await anon.describeTopology();
      assert.ok(topology.nodes.some((node) => node.type === 'source'));
      assert.ok(JSON.parse(topology.descriptionJson).text.includes('Sub-topology'));
      const stop = new AbortController();
      const seen: string[] = [];
      for await (const snapshot of anon.watchTopology(100, stop.signal)) {
        seen.push(snapshot.capturedAt);
        if (seen.length === 3) stop.abort();
      }
      assert.equal(seen.length, 3);
    });
  });

  describe('with grpcurl (reflection and health, a client we did not write)', () => {
    before(() => {
      assert.ok(existsSync(grpcurl), 'grpcurl is missing: run `make tools` (scripts/install-tools.sh) first');
    });

    it('lists the services through reflection without the .proto', async () => {
      const { stdout } = await run(grpcurl, ['-plaintext', h.grpcAddress, 'list']);
      const services = stdout.trim().split('\n');
      assert.ok(services.includes('aerodb.functions.v1.Functions'), stdout);
      assert.ok(services.includes('grpc.health.v1.Health'), stdout);
    });

    it('describes the service and its messages', async () => {
      const { stdout } = await run(grpcurl, ['-plaintext', h.grpcAddress, 'describe', 'aerodb.functions.v1.Functions']);
      assert.match(stdout, /rpc Invoke \( \.aerodb\.functions\.v1\.InvokeRequest \) returns \( \.aerodb\.functions\.v1\.InvokeResponse \)/);
      assert.match(stdout, /rpc WatchTopology \( \.aerodb\.functions\.v1\.WatchTopologyRequest \) returns \( stream \.aerodb\.functions\.v1\.Topology \)/);
      const message = await run(grpcurl, ['-plaintext', h.grpcAddress, 'describe', 'aerodb.functions.v1.DeployRequest']);
      assert.match(message.stdout, /bytes wasm = 2;/);
    });

    it('answers the standard health check with SERVING', async () => {
      const overall = await run(grpcurl, ['-plaintext', '-d', '{"service":""}', h.grpcAddress, 'grpc.health.v1.Health/Check']);
      assert.deepEqual(JSON.parse(overall.stdout), { status: 'SERVING' });
      const ours = await run(grpcurl, ['-plaintext', '-d', '{"service":"aerodb.functions.v1.Functions"}', h.grpcAddress, 'grpc.health.v1.Health/Check']);
      assert.deepEqual(JSON.parse(ours.stdout), { status: 'SERVING' });
    });

    it('invokes a function, and reports errors with their status', async () => {
      const { stdout } = await run(grpcurl, [
        '-plaintext',
        '-H',
        `authorization: Bearer ${h.tokens.anon}`,
        '-d',
        JSON.stringify({ name: 'echo', payload: '{"from":"grpcurl"}' }),
        h.grpcAddress,
        'aerodb.functions.v1.Functions/Invoke',
      ]);
      const response = JSON.parse(stdout) as { output: string; version: number; invocationId: string };
      assert.deepEqual(JSON.parse(response.output), { from: 'grpcurl' });
      assert.equal(response.version, 1);

      const failed = await run(grpcurl, ['-plaintext', '-d', '{"name":"nope"}', h.grpcAddress, 'aerodb.functions.v1.Functions/Invoke']).then(
        () => assert.fail('expected a NotFound status'),
        (error: { stderr: string; code: number }) => error,
      );
      assert.match(failed.stderr, /Code: NotFound/);
      assert.match(failed.stderr, /no function named "nope"/);
    });
  });
});
