import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { openKafkaEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { openEmbeddedPair } from '../unit/registry/embedded-pair.js';
import { commandArbitrary, registryOn, registrySuite, runCommands, steppingClock, waitFor, type LogPair } from '../unit/registry/registry-suite.js';
import { wasmModule } from '../unit/registry/registry-fixtures.js';

const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter((b) => b !== '');

/** Two instances = two separate Kafka clients; a fresh topic prefix per call. */
async function openKafkaPair(): Promise<LogPair> {
  const a = await openKafkaEventLog({ brokers, clientId: 'registry-test-a', logger: silentLogger() });
  const b = await openKafkaEventLog({ brokers, clientId: 'registry-test-b', logger: silentLogger() });
  return {
    a,
    b,
    prefix: `t-${randomUUID().slice(0, 8)}.`,
    async close() {
      await a.close();
      await b.close();
    },
  };
}

registrySuite('kafka', openKafkaPair);

describe('registry on Kafka and on the embedded log', () => {
  const pairs: LogPair[] = [];
  after(async () => {
    for (const pair of pairs) await pair.close();
  });

  it('gives the same state and hash for any command sequence, whichever adapter holds the log', async () => {
    await fc.assert(
      fc.asyncProperty(commandArbitrary, async (commands) => {
        const kafka = await openKafkaPair();
        const embedded = await openEmbeddedPair();
        const onKafka = registryOn(kafka.a, kafka.prefix, { now: steppingClock() });
        const onFile = registryOn(embedded.a, embedded.prefix, { now: steppingClock() });
        const replayed = registryOn(kafka.b, kafka.prefix);
        try {
          await Promise.all([onKafka.start(), onFile.start()]);
          await runCommands(onKafka, commands, kafka.a);
          await runCommands(onFile, commands, embedded.a);
          await replayed.start();
          assert.equal(onKafka.stateHash(), onFile.stateHash());
          assert.equal(replayed.stateHash(), onKafka.stateHash());
          assert.deepEqual(replayed.listFunctions(), onFile.listFunctions());
        } finally {
          await Promise.all([onKafka.close(), onFile.close(), replayed.close()]);
          await kafka.close();
          await embedded.close();
        }
      }),
      { numRuns: 8 },
    );
  });

  it('keeps two instances equal through a burst of racing commands on both', async () => {
    const pair = await openKafkaPair();
    pairs.push(pair);
    const a = registryOn(pair.a, pair.prefix);
    const b = registryOn(pair.b, pair.prefix);
    await Promise.all([a.start(), b.start()]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).deploy({ name: `burst-${i % 3}`, wasm: wasmModule(`burst${i}`), expectedVersion: 0 })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled').length;
    assert.equal(won, 3, 'exactly one deploy per name wins');
    await Promise.all([a.sync(), b.sync()]);
    await waitFor(() => a.position() === b.position(), 1000);
    assert.equal(a.stateHash(), b.stateHash());
    await Promise.all([a.close(), b.close()]);
  });
});
