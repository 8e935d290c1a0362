/**
 * The embedded log's append path alone, as the invocations sink uses it: batches of 1,000 text
 * records of ~700 bytes with two headers, fsync off, 8 rounds of 100,000 records; prints wall and
 * CPU time per record per round (take the best few: the machine is shared).
 *   node --import tsx --import ./bench/use-compiled.mjs bench/pipeline/append-micro.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';

const dir = await mkdtemp(join(tmpdir(), 'aerofn-append-micro-'));
const log = await openEmbeddedEventLog({ dataDir: dir, fsync: false, logger: silentLogger() });
await log.ensureTopic({ name: 'inv', partitions: 1 });
const value = JSON.stringify({ id: '1234abcd-1234-8123-9123-123456789abc', function: 'noop', pad: 'x'.repeat(600) });
const batch = Array.from({ length: 1000 }, (_, i) => ({
  key: 'noop',
  value: JSON.stringify({ i, value }),
  headers: { 'aerofn-function': 'noop', 'aerofn-invocation-id': `1234abcd-1234-8123-9123-${String(i).padStart(12, '0')}` },
}));
for (let round = 0; round < 8; round++) {
  const cpu0 = process.cpuUsage();
  const began = performance.now();
  for (let i = 0; i < 100; i++) await log.append('inv', batch);
  const cpu = process.cpuUsage(cpu0);
  console.log(`append: ${((performance.now() - began) * 10 / 1000).toFixed(2)} us/record wall, ${((cpu.user + cpu.system) / 100_000).toFixed(2)} us/record CPU`);
}
await log.close();
await rm(dir, { recursive: true, force: true });
