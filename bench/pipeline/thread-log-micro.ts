/**
 * What serving an EventLog to a stream thread costs the log's owner (src/eventlog/thread): the
 * owner's thread CPU per record, with the log itself taken out (an in-memory stand-in answers).
 *   - batch: a source batch of 2,000 records (~200-byte JSON values, a key, the change topic's
 *     two headers, or none) is packed, sent to a client in a worker thread and acknowledged;
 *   - append: the client appends 2,000 such values as strings with two headers (a flush) and the
 *     owner unpacks them and answers offsets.
 * Rounds of 100 batches; CPU from /proc per thread (10 ms ticks: ~5 % at these sizes). Take the
 * best rounds: the machine is shared.
 *   node --import tsx bench/pipeline/thread-log-micro.ts
 */
import { MessageChannel, isMainThread, parentPort, workerData, Worker, type MessagePort } from 'node:worker_threads';
import { connectEventLog, serveEventLog, type AppendRecord, type AppendResult, type Batch, type EventLog, type LogRecord, type SubscribeOptions, type Subscription } from '../../src/eventlog/index.js';
import { cpuMark, cpuPerEvent } from './thread-cpu.js';

const RECORDS = 2000;
const BATCHES = 100;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);

const valueOf = (n: number): string =>
  JSON.stringify({ table: 'orders', op: 'UPDATE', row: { id: n % 1000, n, status: 'shipped', customer: `c-${n % 97}`, total: 1234.5 }, before: { status: 'paid' }, commitTs: 1_700_000_000_000 + n, pad: 'x'.repeat(40) });
const headersOf = (n: number): Record<string, string> => ({ 'aerofn-outbox-id': `1234abcd-1234-8123-9123-${String(n).padStart(12, '0')}`, 'aerofn-trigger-depth': '0' });

async function main(): Promise<void> {
  const owner = new StandInLog();
  const { port1, port2 } = new MessageChannel();
  serveEventLog(owner, port1);
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const here = JSON.stringify(import.meta.url);
  const worker = new Worker(`import(${api}).then(({ tsImport }) => tsImport(${here}, ${here}))`, { eval: true, workerData: { port: port2 }, transferList: [port2] });
  const fromWorker = (): Promise<unknown> => new Promise((resolve) => worker.once('message', resolve));
  await fromWorker(); // subscribed
  console.log(`value ${Buffer.byteLength(valueOf(1))} bytes; ${RECORDS} records per batch, ${BATCHES} batches per round`);
  for (const headers of [true, false]) {
    const batch: Batch = { topic: 'changes', partition: 0, records: Array.from({ length: RECORDS }, (_, i) => record(i, headers)) };
    for (let round = 0; round < ROUNDS; round++) report(`batch${headers ? ' (2 headers)' : ' (no headers)'}`, await measure(() => owner.deliver(batch, BATCHES)));
  }
  for (let round = 0; round < ROUNDS; round++) {
    report('append (2 headers)', await measure(async () => {
      worker.postMessage(BATCHES);
      await fromWorker();
    }));
  }
  await worker.terminate();
}

async function measure(run: () => Promise<void>): Promise<{ mainUs: number; processUs: number; wallUs: number }> {
  const mark = cpuMark();
  const began = performance.now();
  await run();
  const wallUs = ((performance.now() - began) * 1000) / (RECORDS * BATCHES);
  return { ...cpuPerEvent(mark, RECORDS * BATCHES), wallUs };
}

function report(what: string, r: { mainUs: number; processUs: number; wallUs: number }): void {
  console.log(`${what.padEnd(20)} owner thread ${r.mainUs.toFixed(2)} us/record CPU, process ${r.processUs.toFixed(2)} us/record CPU, ${r.wallUs.toFixed(2)} us/record wall`);
}

function record(i: number, headers: boolean): LogRecord {
  return { topic: 'changes', partition: 0, offset: i, timestamp: 1_700_000_000_000 + i, key: `orders:${i % 1000}`, value: Buffer.from(valueOf(i)), headers: headers ? headersOf(i) : {} };
}

/** The client: subscribes with a callback that only looks at the records, and appends on request. */
async function client({ port }: { port: MessagePort }): Promise<void> {
  const log = connectEventLog(port, 'embedded');
  let bytes = 0;
  await log.subscribe({
    groupId: 'bench',
    topics: ['changes'],
    eachBatch: async (batch) => {
      for (const r of batch.records) bytes += r.value!.length;
    },
  });
  const flush: AppendRecord[] = Array.from({ length: RECORDS }, (_, i) => ({ key: `fn-${i % 10}`, value: valueOf(i), headers: headersOf(i) }));
  parentPort!.on('message', (batches: number) => {
    void (async () => {
      for (let i = 0; i < batches; i++) await log.append('invocations', flush);
      parentPort!.postMessage({ done: true, bytes });
    })();
  });
  parentPort!.postMessage('subscribed');
}

/** An EventLog whose only work is what the bench hands it: the owner's cost is the serving alone. */
class StandInLog implements EventLog {
  readonly kind = 'embedded' as const;
  private eachBatch: ((batch: Batch) => Promise<unknown>) | undefined;
  private offset = 0;

  async deliver(batch: Batch, times: number): Promise<void> {
    for (let i = 0; i < times; i++) await this.eachBatch!(batch);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.eachBatch = options.eachBatch;
    return { pause: () => undefined, resume: () => undefined, assignments: async () => [], close: async () => undefined };
  }

  async append(_topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    return records.map(() => ({ partition: 0, offset: this.offset++ }));
  }

  async close(): Promise<void> {}
  ensureTopic = unsupported;
  partitionCount = unsupported;
  read = unsupported;
  startOffsets = unsupported;
  endOffsets = unsupported;
  offsetForTimestamp = unsupported;
  commitOffsets = unsupported;
  committedOffsets = unsupported;
  beginTransaction = unsupported;
}

function unsupported(): Promise<never> {
  return Promise.reject(new Error('not part of this benchmark'));
}

// Last: the classes above must exist before either side starts.
if (isMainThread) await main();
else await client(workerData as { port: MessagePort });
