// Acceptance audit, issue 4 Build 4 and issue 6 (503 from a real request): an instance whose
// registry log holds 100,000 events listens at once, answers /readyz 503 and API calls 503
// Unavailable while it replays, and serves only once it caught up — the first answer it gives
// lists every function the full replay yields. (service-slot.test.ts proves the slot logic alone.)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/auth/index.js';
import { openEmbeddedEventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { encodeRegistryEvent, replay } from '../../src/registry/index.js';
import { syntheticHistory } from '../unit/registry/registry-fixtures.js';

const entry = fileURLToPath(new URL('./cli-main.ts', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('audit: readiness waits for the registry to catch up', () => {
  let dir: string;
  let expectedFunctions: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-audit-readyz-'));
    const events = syntheticHistory(100_000);
    expectedFunctions = [...replay(events).functions.values()].filter((f) => f.current !== null).length;
    const log = await openEmbeddedEventLog({ dataDir: dir, fsync: false, logger: silentLogger() });
    await log.ensureTopic({ name: 'aerofn.registry', partitions: 1 });
    for (let i = 0; i < events.length; i += 5000) {
      await log.append('aerofn.registry', events.slice(i, i + 5000).map((event) => ({ key: event.name, value: encodeRegistryEvent(event), partition: 0 })));
    }
    await log.close();
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('answers 503 while replaying 100,000 registry events and serves the full state once ready', async () => {
    const secret = randomBytes(24).toString('hex');
    const token = await mintToken({ secret, role: 'anon' });
    const server = spawn(process.execPath, ['--import', 'tsx', entry, 'serve'], {
      cwd: repo,
      env: { PATH: process.env['PATH'], NODE_NO_WARNINGS: '1', AEROFN_DATA_DIR: dir, AEROFN_HTTP_PORT: '0', AEROFN_GRPC_PORT: '0', AEROFN_JWT_SECRET: secret, AEROFN_WORKERS: '1', AEROFN_LOG_LEVEL: 'info', AEROFN_LOG_FSYNC: 'false' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server.stdout! }).on('line', (line) => {
          try {
            const logged = JSON.parse(line) as { msg?: string; http?: string };
            if (logged.msg?.startsWith('listening') === true && logged.http !== undefined) resolve(`http://${logged.http}`);
          } catch {
            // not a log line
          }
        });
        void exited.then((code) => reject(new Error(`aerofn serve exited with ${code} before listening`)));
      });
      const seen = { readyz503: 0, list503: 0 };
      let firstList: { functions: unknown[] } | undefined;
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const [ready, list] = await Promise.all([fetch(`${base}/readyz`), fetch(`${base}/functions/v1`, { headers: { authorization: `Bearer ${token}` } })]);
        const readyBody = (await ready.json()) as { status: string };
        const listBody = (await list.json()) as { functions?: unknown[]; error?: { kind: string } };
        if (ready.status === 503) {
          assert.equal(readyBody.status, 'catching-up');
          seen.readyz503 += 1;
        }
        if (list.status === 503) {
          assert.equal(listBody.error?.kind, 'Unavailable');
          seen.list503 += 1;
        } else {
          assert.equal(list.status, 200, JSON.stringify(listBody));
          firstList = listBody as { functions: unknown[] };
          break;
        }
      }
      console.log(`# while catching up: ${JSON.stringify(seen)}`);
      assert.ok(firstList !== undefined, 'the server became ready');
      assert.ok(seen.readyz503 > 0 && seen.list503 > 0, `503s seen while catching up: ${JSON.stringify(seen)}`);
      assert.equal(firstList.functions.length, expectedFunctions, 'the first list served is the fully replayed state');
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
    } finally {
      server.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
