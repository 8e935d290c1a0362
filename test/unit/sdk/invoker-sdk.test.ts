import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import asc from 'assemblyscript/asc';
import { anonContext } from '../../../src/auth/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase, type Database } from '../../../src/db/index.js';
import { createInMemoryFunctions, createInvoker, type SandboxInvoker } from '../../../src/invoker/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { createHostFunctions } from '../../../src/wasm/host/index.js';

// The SDK's http.fetch, env.get and context() against the real host functions (allow-lists and
// all), through the real invoker, using the probe entry from sdk/assemblyscript/tests/probe.
let workDir = '';
let db: Database;
let invoker: SandboxInvoker;
let server: Server;
let baseUrl = '';
const received: { method: string; url: string; header: string | undefined; body: string }[] = [];

async function probe(request: unknown): Promise<unknown> {
  const record = await invoker.invoke({ functionName: 'probe', payload: JSON.stringify(request), trigger: 'http', rls: anonContext });
  if (!record.outcome.ok) assert.fail(`probe failed: ${JSON.stringify(record.outcome.error)}`);
  return JSON.parse(record.outcome.output);
}

describe('AssemblyScript SDK against the real host functions', () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'aerofn-sdk-invoker-'));
    const outFile = join(workDir, 'probe.wasm');
    const { error, stderr } = await asc.main(['sdk/assemblyscript/tests/probe/index.ts', '--config', 'sdk/assemblyscript/asconfig.json', '--target', 'release', '--outFile', outFile], {});
    if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);

    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', header: req.headers['x-probe'] as string | undefined, body });
        res.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes' });
        res.end('{"made":true}');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const config = loadConfig({});
    db = await openDatabase({ config, dataDir: '', logger: silentLogger(), inMemory: true });
    const functions = createInMemoryFunctions(config.sandbox.defaults);
    // Loopback is reachable only when listed as an IP literal (DESIGN §4.1).
    await functions.deploy('probe', new Uint8Array(readFileSync(outFile)), { config: { allowedHosts: ['127.0.0.1'], allowedEnv: ['GREETING', 'UNSET_ONE'] } });
    invoker = createInvoker({
      functions,
      hostFunctions: createHostFunctions({ database: db, httpFetchMaxResponseBytes: config.sandbox.httpFetchMaxResponseBytes, environment: { GREETING: 'hej', SECRET: 'no' } }),
      config: { ...config.sandbox, workers: 1 },
      logger: silentLogger(),
    });
    await invoker.ready();
  });

  after(async () => {
    await invoker?.close();
    await db?.close();
    await new Promise((done) => server?.close(done));
    rmSync(workDir, { recursive: true, force: true });
  });

  it('http.fetch reaches a listed host with method, headers and body, and reads the answer', async () => {
    const out = (await probe({ op: 'fetch', url: `${baseUrl}/items?x=1`, method: 'POST', headers: { 'x-probe': 'p1' }, body: '{"q":1}' })) as Record<string, unknown>;
    assert.equal(out['ok'], true);
    assert.equal(out['status'], 201);
    assert.equal(out['body'], '{"made":true}');
    assert.equal((out['headers'] as Record<string, string>)['x-answer'], 'yes');
    assert.deepEqual(received.at(-1), { method: 'POST', url: '/items?x=1', header: 'p1', body: '{"q":1}' });
  });

  it('http.fetch reports a host off the allow-list as an error the function can read', async () => {
    const before = received.length;
    const out = (await probe({ op: 'fetch', url: `http://localhost:${new URL(baseUrl).port}/` })) as Record<string, unknown>;
    assert.equal(out['ok'], false);
    assert.equal(out['status'], 0);
    assert.notEqual(out['errorMessage'], '');
    assert.equal(received.length, before);
  });

  it('env.get reads listed keys and gets null for unset or unlisted ones', async () => {
    assert.deepEqual(await probe({ op: 'env', key: 'GREETING' }), { value: 'hej' });
    assert.deepEqual(await probe({ op: 'env', key: 'UNSET_ONE' }), { value: null });
    assert.deepEqual(await probe({ op: 'env', key: 'SECRET' }), { value: null });
  });

  it('context() sees what the invoker sent', async () => {
    const out = (await probe({ op: 'context' })) as Record<string, unknown>;
    assert.equal(out['function'], 'probe');
    assert.equal(out['trigger'], 'http');
    assert.equal(out['role'], 'anon');
    assert.equal(out['sub'], null);
    assert.equal(out['version'], 1);
    assert.equal(out['attempt'], 1);
    assert.equal(out['cached'], true);
    assert.ok(typeof out['now'] === 'number' && Math.abs((out['now'] as number) - Date.now()) < 60_000);
  });

  it('db.query returns rows from the real database and its errors as values', async () => {
    assert.deepEqual(await probe({ op: 'query', sql: 'select $1::int + 1 as n, $2::text as s', params: [41, 'x'] }), { ok: true, rows: [{ n: 42, s: 'x' }], rowCount: 1, errorMessage: '' });
    const failed = (await probe({ op: 'query', sql: 'select * from no_such_table_here' })) as Record<string, unknown>;
    assert.equal(failed['ok'], false);
    assert.match(failed['errorMessage'] as string, /^42P01: .*no_such_table_here/);
  });
});
