// Child process of crash-safety.test.ts: appends until killed, printing "ack <id>" for every
// record whose append has resolved (that is, acknowledged: written and fsynced).
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { silentLogger } from '../../../src/observability/index.js';

const [dataDir, round] = process.argv.slice(2) as [string, string];
const log = await openEmbeddedEventLog({ dataDir, logger: silentLogger() });
await log.ensureTopic({ name: 'crash', partitions: 3 });
process.stdout.write('ready\n');
let seq = 0;
async function worker(): Promise<void> {
  for (;;) {
    const batch = Array.from({ length: 1 + (seq % 4) }, () => {
      const id = `${round}-${seq++}`;
      // Sizes up to ~48 KiB so that a kill often lands in the middle of a write.
      return { key: id, value: Buffer.alloc(10 + ((seq * 7919) % 48_000), seq & 0xff), headers: { id } };
    });
    await log.append('crash', batch);
    process.stdout.write(batch.map((r) => `ack ${r.key}\n`).join(''));
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
