import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { EventLog } from '../../../src/eventlog/index.js';
import { FunctionError } from '../../../src/errors/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { validateModule } from '../../../src/wasm/index.js';
import { compileFixture } from '../../fixtures/wasm/compile-fixture.js';
import { createRegistry, encodeRegistryEvent, registryAt, registryHistory, sha256Hex, type Registry, type RegistryChange, type RegistryOptions } from '../../../src/registry/index.js';
import { defaults, deployed, largeWasmModule, wasmModule } from './registry-fixtures.js';

/** Two handles on one log (the same object for the embedded log, two clients for Kafka). */
export interface LogPair {
  readonly a: EventLog;
  readonly b: EventLog;
  /** Unique per call, so tests never see each other's topics. */
  readonly prefix: string;
  close(): Promise<void>;
}

export type OpenPair = () => Promise<LogPair>;

const isKind = (kind: string) => (error: unknown) => error instanceof FunctionError && error.kind === kind;

export function registryOn(log: EventLog, prefix: string, extra: Partial<RegistryOptions> = {}): Registry {
  return createRegistry({ log, topicPrefix: prefix, defaults, logger: silentLogger(), pollIntervalMs: 20, ...extra });
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const began = performance.now();
  while (!check()) {
    if (performance.now() - began > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - began;
}

/** A fixed clock, so that the same commands write the same events on any adapter. */
export function steppingClock(): () => number {
  let t = Date.UTC(2026, 0, 1);
  return () => (t += 1000);
}

export function registrySuite(adapter: string, openPair: OpenPair): void {
  describe(`registry on the ${adapter} log`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    async function two(extra: Partial<RegistryOptions> = {}): Promise<{ a: Registry; b: Registry; pair: LogPair }> {
      const pair = await openPair();
      const a = registryOn(pair.a, pair.prefix, extra);
      const b = registryOn(pair.b, pair.prefix, extra);
      cleanups.push(async () => {
        await a.close();
        await b.close();
        await pair.close();
      });
      return { a, b, pair };
    }

    it('serves a deploy as soon as the command returns, module bytes included', async () => {
      const { a } = await two();
      assert.equal(a.ready, false);
      await assert.rejects(a.deploy({ name: 'early', wasm: wasmModule('x') }), isKind('Unavailable'));
      await a.start();
      assert.equal(a.ready, true);
      const wasm = wasmModule('hello');
      const fn = await a.deploy({ name: 'hello', wasm, config: { timeoutMs: 500 } }, { subject: 'alice' });
      assert.equal(fn.version, 1);
      assert.equal(fn.sha256, sha256Hex(wasm));
      assert.equal(fn.deployedBy, 'alice');
      assert.equal(fn.config.timeoutMs, 500);
      assert.deepEqual(a.getFunction('hello'), fn);
      assert.deepEqual(Buffer.from(await a.getModule(fn.sha256)), Buffer.from(wasm));
      await assert.rejects(a.getModule('0'.repeat(64)), isKind('NotFound'));
      const again = await a.deploy({ name: 'hello', wasm: wasmModule('hello2') });
      assert.equal(again.version, 2);
      assert.equal(a.getFunctionVersion('hello', 1)?.sha256, fn.sha256);
    });

    it('shows a deploy on one instance on the other within 1 s, with equal state hashes', async () => {
      const { a, b } = await two();
      await Promise.all([a.start(), b.start()]);
      const fn = await a.deploy({ name: 'seen', wasm: wasmModule('seen'), triggers: [{ type: 'database', table: 'orders', operations: ['INSERT'] }] });
      const ms = await waitFor(() => b.getFunction('seen') !== undefined, 1000);
      assert.ok(ms < 1000);
      assert.deepEqual(b.getFunction('seen'), fn);
      assert.equal(b.stateHash(), a.stateHash());
      assert.deepEqual(Buffer.from(await b.getModule(fn.sha256)), Buffer.from(wasmModule('seen')));
      assert.deepEqual(b.triggerIndex().database.get('orders')?.get('INSERT')?.map((f) => f.name), ['seen']);
    });

    it('lets exactly the first of two racing deploys win on both instances; the other gets Conflict', async () => {
      const { a, b } = await two();
      await Promise.all([a.start(), b.start()]);
      const results = await Promise.allSettled([
        a.deploy({ name: 'race', wasm: wasmModule('from-a'), expectedVersion: 0 }, { subject: 'a' }),
        b.deploy({ name: 'race', wasm: wasmModule('from-b'), expectedVersion: 0 }, { subject: 'b' }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      assert.equal(lost.length, 1);
      assert.ok(isKind('Conflict')((lost[0] as PromiseRejectedResult).reason));
      await Promise.all([a.sync(), b.sync()]);
      assert.equal(a.stateHash(), b.stateHash());
      // The loser either wrote its event and lost in the fold, or saw the winner first and never wrote.
      const history = await a.history('race');
      assert.ok(history.length === 1 || history.length === 2);
      assert.deepEqual(history.map((h) => h.accepted), history.length === 2 ? [true, false] : [true]);
      if (history.length === 2) assert.equal(history[1]?.reason, 'version-conflict');
      assert.equal(a.getFunction('race')?.deployedBy, history[0]?.subject);
      assert.equal(b.getFunction('race')?.sha256, history[0]?.sha256);
    });

    it('folds two logged events with the same expectedVersion alike on both instances: the first wins', async () => {
      const { a, b, pair } = await two();
      await Promise.all([a.start(), b.start()]);
      const first = deployed('logged', 0, { sha256: '1'.repeat(64) });
      const second = deployed('logged', 0, { sha256: '2'.repeat(64) });
      await pair.a.append(a.topics.registry, [first, second].map((event) => ({ key: event.name, value: encodeRegistryEvent(event), partition: 0 })));
      await Promise.all([a.sync(), b.sync()]);
      assert.equal(a.getFunction('logged')?.sha256, '1'.repeat(64));
      assert.equal(b.getFunction('logged')?.sha256, '1'.repeat(64));
      assert.equal(a.stateHash(), b.stateHash());
      assert.equal(b.state().rejectedCount, 1);
    });

    it('refuses an invalid module with InvalidWasm and writes nothing', async () => {
      const { a, pair } = await two();
      await a.start();
      const before = [await pair.a.endOffsets(a.topics.registry), await pair.a.endOffsets(a.topics.modules)];
      await assert.rejects(a.deploy({ name: 'bad', wasm: new Uint8Array([1, 2, 3, 4]) }), isKind('InvalidWasm'));
      const refuse = () => {
        throw new FunctionError('InvalidWasm', 'missing export "handler"');
      };
      const strict = registryOn(pair.a, pair.prefix, { validateModule: refuse });
      await strict.start();
      await assert.rejects(strict.deploy({ name: 'bad', wasm: wasmModule('fine-but-refused') }), isKind('InvalidWasm'));
      await strict.close();
      assert.deepEqual([await pair.a.endOffsets(a.topics.registry), await pair.a.endOffsets(a.topics.modules)], before);
      assert.equal(a.getFunction('bad'), undefined);
    });

    it('checks modules with the sandbox validator: an ABI module deploys, a broken one is InvalidWasm', async () => {
      const { pair } = await two();
      const registry = registryOn(pair.a, pair.prefix, { validateModule });
      cleanups.push(() => registry.close());
      await registry.start();
      const echo = await compileFixture('echo');
      assert.equal((await registry.deploy({ name: 'echo', wasm: echo })).sha256, sha256Hex(echo));
      const end = await pair.a.endOffsets(registry.topics.modules);
      await assert.rejects(registry.deploy({ name: 'no-handler', wasm: await compileFixture('missing-handler') }), isKind('InvalidWasm'));
      await assert.rejects(registry.deploy({ name: 'huge', wasm: await compileFixture('initial-memory-over-limit') }), isKind('InvalidWasm'));
      assert.deepEqual(await pair.a.endOffsets(registry.topics.modules), end);
      assert.deepEqual(registry.listFunctions().map((f) => f.name), ['echo']);
    });

    it('undeploys, disables and enables, with Conflict on a stale expectedVersion and NotFound on unknown names', async () => {
      const { a, b } = await two();
      await Promise.all([a.start(), b.start()]);
      await a.deploy({ name: 'life', wasm: wasmModule('life') });
      await assert.rejects(a.deploy({ name: 'life', wasm: wasmModule('life2'), expectedVersion: 0 }), isKind('Conflict'));
      assert.equal((await b.disable('life', { expectedVersion: 1 })).enabled, false);
      assert.equal(b.getFunction('life')?.enabled, false);
      assert.equal((await a.enable('life')).enabled, true, 'a syncs before it acts, so it sees the disable');
      const position = a.position();
      assert.equal((await a.enable('life')).enabled, true, 'enabling an enabled function records nothing');
      assert.equal(a.position(), position);
      await assert.rejects(a.undeploy('life', { expectedVersion: 7 }), isKind('Conflict'));
      assert.equal((await a.undeploy('life')).version, 1);
      assert.equal(a.getFunction('life'), undefined);
      await assert.rejects(a.undeploy('life'), isKind('NotFound'));
      await assert.rejects(a.disable('nobody'), isKind('NotFound'));
      await assert.rejects(a.undeploy('Not A Name'), isKind('BadRequest'));
      assert.equal((await b.deploy({ name: 'life', wasm: wasmModule('life3') })).version, 2, 'versions never repeat');
    });

    it('rebuilds the registry at an offset or a time and lists the history of a name', async () => {
      const now = steppingClock();
      const { a, pair } = await two({ now });
      await a.start();
      const v1 = await a.deploy({ name: 'audit', wasm: wasmModule('a1') }, { subject: 'alice' });
      const hashAfterV1 = a.stateHash();
      const afterV1 = a.position() - 1;
      await a.deploy({ name: 'audit', wasm: wasmModule('a2') }, { subject: 'bob' });
      await a.disable('audit', {}, { subject: 'carol' });
      const byOffset = await a.at({ offset: afterV1 });
      assert.equal(byOffset.throughOffset, afterV1);
      assert.deepEqual(byOffset.getFunction('audit'), v1);
      assert.equal(byOffset.stateHash(), hashAfterV1);
      const byTime = await a.at({ time: v1.deployedAt });
      assert.equal(byTime.stateHash(), hashAfterV1);
      assert.equal((await a.at({ time: new Date(Date.UTC(2000, 0, 1)) })).listFunctions().length, 0);
      assert.equal((await a.at({ offset: a.position() })).stateHash(), a.stateHash());
      const history = await a.history('audit');
      assert.deepEqual(history.map((h) => [h.type, h.subject, h.version, h.accepted]), [
        ['FunctionDeployed', 'alice', 1, true],
        ['FunctionDeployed', 'bob', 2, true],
        ['FunctionDisabled', 'carol', 2, true],
      ]);
      assert.ok(history.every((h) => !Number.isNaN(Date.parse(h.timestamp))));
      // The live registry answers from what it folded; a tool without one reads the log: same answer.
      assert.deepEqual(await registryHistory(pair.b, a.topics.registry, 'audit'), history);
      assert.equal((await registryAt(pair.b, a.topics.registry, { offset: afterV1 })).stateHash(), hashAfterV1);
      assert.deepEqual((await a.history()).map((h) => h.name), ['audit', 'audit', 'audit']);
    });

    it('tells listeners and the changes$ stream about every event it folds', async () => {
      const { a, b } = await two();
      await Promise.all([a.start(), b.start()]);
      const seen: RegistryChange[] = [];
      const streamed: string[] = [];
      const stop = b.onChange((change) => seen.push(change));
      const subscription = b.changes$.subscribe((change) => streamed.push(`${change.event?.type}:${change.outcome.accepted}`));
      await a.deploy({ name: 'watched', wasm: wasmModule('w') });
      await a.disable('watched');
      await waitFor(() => seen.length === 2, 1000);
      assert.deepEqual(seen.map((c) => c.current?.enabled), [true, false]);
      assert.deepEqual(streamed, ['FunctionDeployed:true', 'FunctionDisabled:true']);
      stop();
      subscription.unsubscribe();
    });

    it('stores and reads back a 32 MB module in chunks', async () => {
      const { a, b } = await two();
      await Promise.all([a.start(), b.start()]);
      const big = largeWasmModule(32 * 1024 * 1024);
      const fn = await a.deploy({ name: 'big', wasm: big });
      await waitFor(() => b.getFunction('big') !== undefined, 2000);
      const back = await b.getModule(fn.sha256);
      assert.equal(back.byteLength, big.byteLength);
      assert.equal(sha256Hex(back), fn.sha256);
      await assert.rejects(a.deploy({ name: 'too-big', wasm: new Uint8Array(32 * 1024 * 1024 + 1) }), isKind('PayloadTooLarge'));
    });
  });
}

type Command =
  | { kind: 'deploy'; name: string; tag: number; stale: boolean }
  | { kind: 'undeploy' | 'enable' | 'disable'; name: string; stale: boolean }
  | { kind: 'lost-race'; name: string; tag: number };

export const commandArbitrary: fc.Arbitrary<Command[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('deploy' as const), name: fc.constantFrom('a', 'b', 'c'), tag: fc.integer({ min: 0, max: 3 }), stale: fc.boolean() }),
    fc.record({ kind: fc.constantFrom('undeploy' as const, 'enable' as const, 'disable' as const), name: fc.constantFrom('a', 'b', 'c'), stale: fc.boolean() }),
    fc.record({ kind: fc.constant('lost-race' as const), name: fc.constantFrom('a', 'b', 'c'), tag: fc.integer({ min: 0, max: 3 }) }),
  ),
  { minLength: 1, maxLength: 12 },
);

/**
 * Runs commands, ignoring the refusals they are meant to provoke (stale versions, unknown
 * names). `lost-race` appends what another instance would: a deploy naming the version before
 * the latest (it lost a race: it stays in the log and every fold must reject it), or, for a new
 * name, a deploy that wins.
 */
export async function runCommands(registry: Registry, commands: readonly Command[], log: EventLog): Promise<void> {
  for (const command of commands) {
    const latest = registry.state().functions.get(command.name)?.latestVersion ?? 0;
    if (command.kind === 'lost-race') {
      const event = deployed(command.name, latest > 0 ? latest - 1 : 0, { at: new Date(Date.UTC(2026, 0, 2, 0, command.tag)).toISOString() });
      await log.append(registry.topics.registry, [{ key: event.name, value: encodeRegistryEvent(event), partition: 0 }]);
      await registry.sync();
      continue;
    }
    const guard = command.stale ? { expectedVersion: latest + 1 } : {};
    try {
      if (command.kind === 'deploy') await registry.deploy({ name: command.name, wasm: wasmModule(`m${command.tag}`), ...guard }, { subject: `u${command.tag}` });
      else await registry[command.kind](command.name, guard, { subject: 'ops' });
    } catch (error) {
      if (!(error instanceof FunctionError) || !['Conflict', 'NotFound'].includes(error.kind)) throw error;
    }
  }
}
