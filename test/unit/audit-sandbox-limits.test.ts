// Acceptance audit, issue 2 Build 3 and issue 3 Build 6: what the existing suites did not pin down.
// - log: the size of one message is capped (maxLogMessageBytes), in the journal and in what reaches
//   the pino child logger, which names function, invocation id and level;
// - the compiled-module cache is keyed by sha256 (one compile per content and limit, bytes that do
//   not match their sha256 refused, a failed compile not cached);
// - the worker pool's default size is the number of cores.
import { availableParallelism } from 'node:os';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceRoleContext } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { FunctionError } from '../../src/errors/index.js';
import { createInMemoryFunctions, createInvoker, type SandboxInvoker } from '../../src/invoker/index.js';
import { createRootLogger } from '../../src/observability/index.js';
import { createModuleCache, sha256Hex } from '../../src/wasm/index.js';
import { compileFixture, pseudoRandomBytes } from '../fixtures/wasm/compile-fixture.js';

describe('audit: one guest log message is capped in size', () => {
  const lines: Array<Record<string, unknown>> = [];
  let invoker: SandboxInvoker;
  const functions = createInMemoryFunctions();
  const maxBytes = 64;

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({ AEROFN_WORKERS: '1', AEROFN_MAX_LOG_MESSAGES: '3', AEROFN_MAX_LOG_MESSAGE_BYTES: String(maxBytes) });
    invoker = createInvoker({ functions, hostFunctions: {}, config: config.sandbox, logger: createRootLogger({ level: 'debug', destination }) });
    await invoker.ready();
    await functions.deploy('flood', await compileFixture('log-flood'));
  });
  after(async () => invoker.close());

  it('keeps at most maxLogMessageBytes of each message and maxLogMessages messages, and logs them with function, id and level', async () => {
    const big = JSON.stringify('x'.repeat(10_000));
    const record = await invoker.invoke({ functionName: 'flood', payload: big, trigger: 'http', rls: serviceRoleContext, invocationId: 'audit-log-1' });
    assert.deepEqual(record.outcome, { ok: true, output: 'null' });
    const logs = record.journal.filter((entry) => entry.fn === 'log');
    assert.equal(logs.length, 3, 'maxLogMessages entries kept');
    for (const entry of logs) {
      const { message } = JSON.parse(entry.request) as { message: string };
      assert.ok(Buffer.byteLength(message, 'utf8') <= maxBytes + 32, `a journaled message kept ${Buffer.byteLength(message)} bytes (cap ${maxBytes})`);
      assert.ok(message.startsWith('"xxxx'), message);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const guestLines = lines.filter((line) => line['guest'] === true);
    assert.equal(guestLines.length, 3, JSON.stringify(lines));
    for (const line of guestLines) {
      assert.equal(line['invocationId'], 'audit-log-1');
      assert.equal(line['function'], 'flood');
      assert.equal(line['level'], 30, 'guest level 1 is info');
      assert.ok(Buffer.byteLength(String(line['msg']), 'utf8') <= maxBytes + 32, `a logged message kept ${String(line['msg']).length} chars`);
    }
    assert.ok(lines.some((line) => typeof line['logsDropped'] === 'number' && (line['logsDropped'] as number) > 0), 'the drop is reported');
  });
});

describe('audit: compiled-module cache keyed by sha256', () => {
  it('compiles each (content, memory limit) once, refuses bytes that do not match their sha256 and does not cache a failure', async () => {
    const cache = createModuleCache();
    const echo = await compileFixture('echo');
    const sha = sha256Hex(echo);
    let fetches = 0;
    const fetchEcho = async () => {
      fetches += 1;
      return echo;
    };
    const a = await cache.load(sha, { memoryMb: 16 }, fetchEcho);
    const b = await cache.load(sha, { memoryMb: 16 }, fetchEcho);
    assert.equal(a, b, 'the same compiled module is handed out again');
    assert.equal(fetches, 1, 'the bytes were fetched and compiled once');
    assert.equal(a.sha256, sha);
    const other = await cache.load(sha, { memoryMb: 32 }, fetchEcho);
    assert.notEqual(other, a, 'a different memory limit is a different compiled module');
    assert.equal(other.maxBytes, 32 * 1024 * 1024);
    assert.equal(a.maxBytes, 16 * 1024 * 1024);
    assert.equal(cache.size, 2);

    await assert.rejects(cache.load('0'.repeat(64), { memoryMb: 16 }, fetchEcho), (error: unknown) => error instanceof FunctionError && error.kind === 'InvalidWasm' && /do not match their sha256/.test(error.message));

    const garbage = pseudoRandomBytes(512);
    const garbageSha = sha256Hex(garbage);
    let garbageFetches = 0;
    const fetchGarbage = async () => {
      garbageFetches += 1;
      return garbage;
    };
    await assert.rejects(cache.load(garbageSha, { memoryMb: 16 }, fetchGarbage), (error: unknown) => error instanceof FunctionError && error.kind === 'InvalidWasm');
    await assert.rejects(cache.load(garbageSha, { memoryMb: 16 }, fetchGarbage), (error: unknown) => error instanceof FunctionError && error.kind === 'InvalidWasm');
    assert.equal(garbageFetches, 2, 'a failed load is not cached');
    assert.equal(cache.size, 2);
  });

  it('evicts the least recently used compiled module past maxEntries', async () => {
    const evicted: string[] = [];
    const cache = createModuleCache({ maxEntries: 1, onEvict: (module) => evicted.push(module.sha256) });
    const echo = await compileFixture('echo');
    const trap = await compileFixture('trap');
    await cache.load(sha256Hex(echo), { memoryMb: 16 }, async () => echo);
    await cache.load(sha256Hex(trap), { memoryMb: 16 }, async () => trap);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cache.size, 1);
    assert.deepEqual(evicted, [sha256Hex(echo)]);
  });
});

describe('audit: worker pool size', () => {
  it('defaults to the number of cores and follows AEROFN_WORKERS', () => {
    assert.equal(loadConfig({}).sandbox.workers, availableParallelism());
    assert.equal(loadConfig({ AEROFN_WORKERS: '3' }).sandbox.workers, 3);
  });
});
