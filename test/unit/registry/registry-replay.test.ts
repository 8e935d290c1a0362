import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';
import { encodeRegistryEvent, readRegistryRecords, replay, stateHash, type RegistryEvent } from '../../../src/registry/index.js';
import { openEmbeddedPair } from './embedded-pair.js';
import { syntheticHistory, wasmModule } from './registry-fixtures.js';
import { commandArbitrary, registryOn, runCommands, steppingClock, type LogPair } from './registry-suite.js';

describe('registry replay (embedded log)', () => {
  const pairs: LogPair[] = [];
  after(async () => {
    for (const pair of pairs) await pair.close();
  });
  const open = async (): Promise<LogPair> => {
    const pair = await openEmbeddedPair();
    pairs.push(pair);
    return pair;
  };

  it('gives the same state and hash when any command sequence is replayed from the log', async () => {
    await fc.assert(
      fc.asyncProperty(commandArbitrary, async (commands) => {
        const [one, two] = [await openEmbeddedPair(), await openEmbeddedPair()];
        const live = registryOn(one.a, one.prefix, { now: steppingClock() });
        const twin = registryOn(two.a, two.prefix, { now: steppingClock() });
        const replayed = registryOn(one.b, one.prefix);
        try {
          await Promise.all([live.start(), twin.start()]);
          await runCommands(live, commands, one.a);
          await runCommands(twin, commands, two.a);
          await replayed.start();
          const events: Array<RegistryEvent | undefined> = [];
          for await (const batch of readRegistryRecords(one.a, live.topics.registry)) events.push(...batch.map((r) => r.event));
          assert.equal(replayed.stateHash(), live.stateHash());
          assert.deepEqual(replayed.listFunctions(), live.listFunctions());
          assert.equal(stateHash(replay(events)), live.stateHash(), 'the pure fold of the log agrees');
          assert.equal(twin.stateHash(), live.stateHash(), 'a second log written by the same commands agrees');
        } finally {
          await Promise.all([live.close(), twin.close(), replayed.close()]);
          await one.close();
          await two.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('comes back after a restart of the process with the same functions, hash and module bytes', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-registry-restart-'));
    try {
      const first = await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
      const original = registryOn(first, '');
      await original.start();
      const fn = await original.deploy({ name: 'survivor', wasm: wasmModule('survive'), triggers: [{ type: 'schedule', cron: '0 * * * *' }] }, { subject: 'alice' });
      await original.disable('survivor');
      const hash = original.stateHash();
      await original.close();
      await first.close();

      const second = await openEmbeddedEventLog({ dataDir, fsync: true, logger: silentLogger() });
      const restarted = registryOn(second, '');
      await restarted.start();
      assert.equal(restarted.stateHash(), hash);
      assert.equal(restarted.getFunction('survivor')?.enabled, false);
      assert.deepEqual(Buffer.from(await restarted.getModule(fn.sha256)), Buffer.from(wasmModule('survive')));
      assert.equal((await restarted.deploy({ name: 'survivor', wasm: wasmModule('again') })).version, 2);
      await restarted.close();
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('replays a registry of 100,000 events to the state the pure fold gives', async () => {
    const events = syntheticHistory(100_000);
    const pair = await open();
    const writer = registryOn(pair.a, pair.prefix);
    await pair.a.ensureTopic({ name: writer.topics.registry, partitions: 1 });
    for (let i = 0; i < events.length; i += 5000) {
      await pair.a.append(writer.topics.registry, events.slice(i, i + 5000).map((event) => ({ key: event.name, value: encodeRegistryEvent(event), partition: 0 })));
    }
    const expected = replay(events);
    const began = performance.now();
    const registry = registryOn(pair.b, pair.prefix);
    await registry.start();
    const ms = performance.now() - began;
    assert.equal(registry.state().eventCount, 100_000);
    assert.equal(registry.state().rejectedCount, expected.rejectedCount);
    assert.ok(expected.rejectedCount >= 2000, `stale deploys are rejected (${expected.rejectedCount})`);
    assert.equal(registry.stateHash(), stateHash(expected));
    assert.equal(registry.listFunctions().length, [...expected.functions.values()].filter((f) => f.current !== null).length);
    const half = await registry.at({ offset: 49_999 });
    assert.equal(half.stateHash(), stateHash(replay(events.slice(0, 50_000))));
    await registry.close();
    console.log(`replayed 100,000 registry events in ${ms.toFixed(0)} ms`);
  });
});
