import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openEmbeddedEventLog } from '../../../src/eventlog/index.js';
import { encodeFrame } from '../../../src/eventlog/embedded/record-format.js';
import { readAll } from '../../conformance/event-log.suite.js';

const ROUNDS = 20;
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const dataDir = await mkdtemp(join(tmpdir(), 'aerofn-crash-'));
after(() => rm(dataDir, { recursive: true, force: true }));

/** Runs the child until it has acknowledged at least `minAcks` records, then SIGKILLs it. */
function runAndKill(round: number, minAcks: number): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Set<string>();
    let rest = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      proc.kill('SIGKILL');
    }, 20_000);
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line.startsWith('ack ')) acked.add(line.slice(4));
      if (!killed && acked.size >= minAcks) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (${signal ?? _code}): ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('embedded log crash safety', () => {
  it(`keeps every acknowledged record exactly once across ${ROUNDS} kill -9s mid-append`, async () => {
    const acknowledged = new Set<string>();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (line: Buffer, _e, done) => (warnings.push(line.toString()), done()) }));
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await runAndKill(round, 50 + ((round * 97) % 400));
      assert.ok(acked.size > 0, `round ${round}: the child acknowledged records before it was killed`);
      for (const id of acked) acknowledged.add(id);
      // A kill -9 cannot cut a write(2) to a file in half, but a power loss can: leave the torn
      // frame such a crash would, and check that the reopen cuts it off.
      const partitionDir = join(dataDir, 'log', 'crash', String(round % 3));
      const last = (await readdir(partitionDir)).filter((f) => f.endsWith('.log')).sort().pop()!;
      const torn = encodeFrame({ offset: 1e9, timestamp: Date.now(), key: 'torn', value: Buffer.alloc(3000, 7), headers: undefined });
      await appendFile(join(partitionDir, last), torn.subarray(0, 1 + ((round * 331) % (torn.length - 1))));
      const warningsBefore = warnings.filter((w) => w.includes('torn tail')).length;
      const log = await openEmbeddedEventLog({ dataDir, logger });
      assert.ok(warnings.filter((w) => w.includes('torn tail')).length > warningsBefore, `round ${round}: the torn tail was truncated`);
      const seen = new Map<string, number>();
      for (let partition = 0; partition < 3; partition++) {
        for (const record of await readAll(log, 'crash', partition, 0)) {
          if (!record.key!.startsWith('probe-')) assert.equal(record.headers['id'], record.key, 'the record reads back whole');
          seen.set(record.key!, (seen.get(record.key!) ?? 0) + 1);
        }
      }
      for (const id of acknowledged) assert.equal(seen.get(id), 1, `round ${round}: acknowledged record ${id} is there exactly once`);
      for (const [id, count] of seen) assert.equal(count, 1, `record ${id} is not duplicated`);
      // The log keeps working after recovery: appends continue right after the last whole record.
      const [probe] = await log.append('crash', [{ key: `probe-${round}`, value: 'p', partition: 0 }]);
      assert.equal(probe!.offset, (await log.endOffsets('crash'))[0]! - 1);
      acknowledged.add(`probe-${round}`);
      await log.close();
    }
    process.stdout.write(`# ${acknowledged.size} acknowledged records kept over ${ROUNDS} kills; ${warnings.filter((w) => w.includes('torn tail')).length} torn tails truncated\n`);
  });
});
