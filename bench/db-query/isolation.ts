/**
 * What one function's slow statements do to everyone else: a guest runs `select pg_sleep(0.02)`
 * in a loop (20 ms statements) while another function, which touches no database, is invoked
 * 200 times, one every 5 ms; its latency is compared with the same calls on an idle service. With PGlite on
 * the main thread each statement stops the event loop that dispatches and collects every
 * invocation; on its own thread it stops nothing but the database.
 */
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createInMemoryFunctions, createInvoker } from '../../src/invoker/index.js';
import { serviceRoleContext } from '../../src/auth/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { createHostFunctions } from '../../src/wasm/host/index.js';
import { compileFixture } from '../../test/fixtures/wasm/compile-fixture.js';

const calls = 200;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number).toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** `loopWasm`: a guest that calls db_query `count` times for input `[count,request]`. */
export async function measureIsolation(loopWasm: Uint8Array): Promise<void> {
  console.log(`\nIsolation: a function's latency (no database) while another runs 20 ms statements, ${calls} calls`);
  for (const pgliteThread of [true, false]) {
    const db = await openDatabase({ config: { database: { url: undefined, poolSize: 1, pgliteThread } }, dataDir: '', inMemory: true, logger: silentLogger() });
    const config = loadConfig({ AEROFN_WORKERS: '2' }).sandbox;
    const functions = createInMemoryFunctions(config.defaults);
    const hostFunctions = createHostFunctions({ database: db, httpFetchMaxResponseBytes: 1024, environment: {} });
    const invoker = createInvoker({ functions, hostFunctions, ...(db.guestChannels === undefined ? {} : { guestChannels: db.guestChannels }), config, logger: silentLogger() });
    await functions.deploy('slow', loopWasm, { config: { timeoutMs: 60_000 } });
    await functions.deploy('echo', await compileFixture('echo'));
    await invoker.ready();
    // One call every 5 ms on a fixed schedule, each timed from when it was due, not from when
    // the event loop got round to it: a request does not wait to be sent because the service is
    // busy (timing from the start would hide exactly the stall this measures).
    // Calls are not held back by earlier ones (an open loop, like independent clients).
    const echo = async (into: number[]): Promise<void> => {
      const start = performance.now();
      const inFlight: Array<Promise<void>> = [];
      for (let i = 0; i < calls; i++) {
        const due = start + i * 5;
        await pause(Math.max(0, due - performance.now()));
        // A timer may fire up to a millisecond early: then the call is timed from its start.
        const from = Math.min(due, performance.now());
        inFlight.push(
          invoker.invoke({ functionName: 'echo', payload: '{"n":1}', trigger: 'http', rls: serviceRoleContext }).then((record) => {
            if (!record.outcome.ok) throw new Error(`echo failed: ${JSON.stringify(record.outcome.error)}`);
            into.push(performance.now() - from);
          }),
        );
      }
      await Promise.all(inFlight);
    };
    const idle: number[] = [];
    await echo(idle);
    let running = true;
    const sleeper = JSON.stringify({ sql: 'select pg_sleep(0.02)', params: [] });
    const slow = (async () => {
      while (running) {
        const record = await invoker.invoke({ functionName: 'slow', payload: `[10,${sleeper}]`, trigger: 'http', rls: serviceRoleContext });
        if (!record.outcome.ok) throw new Error(`slow failed: ${JSON.stringify(record.outcome.error)}`);
      }
    })();
    await pause(50);
    const busy: number[] = [];
    await echo(busy);
    running = false;
    await slow;
    await invoker.close();
    await db.close();
    const label = pgliteThread ? 'PGlite on its own thread ' : 'PGlite on the main thread';
    console.log(`  ${label}: idle ${summary(idle)}; beside the slow statements ${summary(busy)}`);
  }
}
