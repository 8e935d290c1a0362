import { deserialize, serialize } from 'node:v8';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../event-loop/index.js';
import { DatabaseError, type QueryResult, type SqlExecutor } from '../database.js';
import type { Driver } from '../driver.js';
import { abandon, Bell, BELL_BYTES, Cell, CHANNEL_BYTES, CHANNEL_DATA_BYTES, channelViews, LEN_IN_PORT, Op, ReplyStatus, ring, type ChannelViews, type GuestChannels } from './thread-channel.js';
import type { ThreadCall, ThreadControl, ThreadInit, ThreadReply } from './thread-messages.js';
import { MainReplyWait } from './main-reply-wait.js';

export interface ThreadDriver extends Driver {
  readonly guestChannels: GuestChannels;
  readonly failed: Promise<Error>;
}

export interface ThreadDriverOptions {
  readonly dataDir?: string;
  readonly preparedStatements?: number;
  /**
   * The thread's heap limit in MB (default: no limit of its own). Answers are built on that heap
   * before they travel, so an answer past it stops the thread (ERR_WORKER_OUT_OF_MEMORY) rather
   * than growing the process until the host kills all of it.
   */
  readonly heapMb?: number;
  /** Guests' db_query answered on the thread: the largest answer they get. */
  readonly maxAnswerBytes?: number;
}

function startThread(init: ThreadInit, heapMb: number | undefined): Worker {
  return startModuleWorker(import.meta.url, 'pglite-thread', { workerData: init, transferList: [init.port], ...(heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapMb } }) });
}

/** A chain that runs one task at a time, in order. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * PGlite on a thread of its own (pglite-thread.ts), behind the Driver port: the same statements,
 * sessions and transactions as the in-process driver, each a request over a shared-memory channel.
 */
export async function openPgliteThreadDriver(driverOptions: ThreadDriverOptions): Promise<ThreadDriver> {
  const { heapMb, maxAnswerBytes, ...options } = driverOptions;
  const bellBuffer = new SharedArrayBuffer(BELL_BYTES);
  const bell = new Int32Array(bellBuffer);
  const channel = new SharedArrayBuffer(CHANNEL_BYTES);
  const views: ChannelViews = channelViews(channel);
  const { port1, port2 } = new MessageChannel();
  const worker = startThread({ bell: bellBuffer, channel, port: port2, options, ...(maxAnswerBytes === undefined ? {} : { maxAnswerBytes }) }, heapMb);
  let gone: Error | undefined;
  let closing = false;
  let reportFailure: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (message: { type: string; message?: string }) => {
      if (message.type === 'ready') resolve();
      else reject(new DatabaseError(`PGlite did not start: ${message.message ?? 'unknown error'}`, undefined));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new DatabaseError(`the PGlite thread exited (code ${code}) before it was ready`, undefined)));
  });
  worker.on('error', (error: Error & { code?: string }) => {
    gone ??=
      error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new DatabaseError(`the PGlite thread ran out of memory (${error.message}): a statement's answer outgrew AEROFN_PGLITE_HEAP_MB (${heapMb ?? 'unset'} MB); the service restarts to recover. Select fewer rows or columns, or raise the limit.`, undefined, { cause: error })
        : new DatabaseError(`the PGlite thread failed: ${error.message}`, undefined, { cause: error });
  });
  worker.on('message', (message: { type: string; message?: string }) => {
    if (message.type !== 'failed') return;
    gone ??= new DatabaseError(`the PGlite thread failed: ${message.message ?? 'unknown error'}`, undefined);
    if (!closing) reportFailure(gone);
  });
  const replies = new MainReplyWait(views.cells, () => gone);
  const openChannels = new Map<number, Int32Array>();
  worker.once('exit', () => {
    gone ??= new DatabaseError('the PGlite thread has stopped', undefined);
    if (!closing) reportFailure(gone);
    // It may have died without a word: answer whatever was left waiting (thread-channel.ts, ring).
    Atomics.store(bell, Bell.CLOSED, 1);
    abandon(views.cells);
    for (const cells of openChannels.values()) abandon(cells);
    replies.wake();
  });
  worker.unref();

  const wire = new Serial();
  /** One request on the main channel, one at a time. */
  const call = (request: ThreadCall, abortable?: AbortSignal): Promise<QueryResult | undefined> =>
    wire.run(async () => {
      if (gone !== undefined) throw gone;
      const { cells, data } = views;
      const bytes = serialize(request);
      if (bytes.length <= CHANNEL_DATA_BYTES) {
        data.set(bytes, 0);
        cells[Cell.LEN] = bytes.length;
      } else {
        port1.postMessage({ call: request });
        cells[Cell.LEN] = LEN_IN_PORT;
      }
      cells[Cell.OP] = Op.CALL;
      cells[Cell.ABORTED] = 0;
      const onAbort = (): void => void Atomics.store(cells, Cell.ABORTED, 1);
      abortable?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      try {
        const postedAt = performance.now();
        await replies.until(ring(bell, cells), postedAt);
      } finally {
        worker.unref();
        abortable?.removeEventListener('abort', onAbort);
      }
      if (cells[Cell.STATUS] === ReplyStatus.ABANDONED) throw gone ?? new DatabaseError('the PGlite thread has stopped', undefined);
      const length = cells[Cell.LEN] as number;
      const answer = length === LEN_IN_PORT ? (receiveMessageOnPort(port1)?.message as { answer: Uint8Array }).answer : data.subarray(0, length);
      const result = deserialize(answer) as ThreadReply;
      if (!result.ok || cells[Cell.STATUS] !== ReplyStatus.OK) {
        const failure = result as Extract<ThreadReply, { ok: false }>;
        throw new DatabaseError(failure.message, failure.code);
      }
      return result.value;
    });

  const asResult = async (pending: Promise<QueryResult | undefined>): Promise<QueryResult> => (await pending) ?? { rows: [], rowCount: 0 };
  const transactions = new Serial();
  let nextChannel = 1;

  return {
    kind: 'pglite',
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return transactions.run(async () => {
        await call({ kind: 'begin' });
        let value: T;
        try {
          value = await fn({ query: (sql, params = []) => asResult(call({ kind: 'tx-query', sql, params })) });
        } catch (error) {
          await call({ kind: 'rollback' }).catch(() => undefined);
          throw error;
        }
        await call({ kind: 'commit' });
        return value;
      });
    },
    sessionQuery(setup, sql, params, queryOptions = {}) {
      return transactions.run(() => asResult(call({ kind: 'session', setup, sql, params, deadline: queryOptions.deadline, writeAnswerCap: queryOptions.writeAnswerCap }, queryOptions.signal)));
    },
    query: (sql, params = []) => transactions.run(() => asResult(call({ kind: 'query', sql, params }))),
    script: (sql) => transactions.run(async () => void (await call({ kind: 'script', sql }))),
    failed,
    async close() {
      closing = true;
      if (gone !== undefined) return;
      await transactions.run(() => call({ kind: 'close' })).catch(() => undefined);
      await worker.terminate().catch(() => undefined);
      port1.close();
    },
    guestChannels: {
      open() {
        const id = nextChannel++;
        const buffer = new SharedArrayBuffer(CHANNEL_BYTES);
        const { port1: threadEnd, port2: guestEnd } = new MessageChannel();
        const control: ThreadControl = { type: 'open', id, channel: buffer, port: threadEnd };
        openChannels.set(id, channelViews(buffer).cells);
        worker.postMessage(control, [threadEnd as MessagePort]);
        Atomics.add(bell, Bell.CONTROL, 1);
        Atomics.add(bell, Bell.RING, 1);
        Atomics.notify(bell, Bell.RING);
        return { id, link: { bell: bellBuffer, channel: buffer, port: guestEnd } };
      },
      close(id) {
        openChannels.delete(id);
        if (gone !== undefined) return;
        worker.postMessage({ type: 'close', id } satisfies ThreadControl);
        Atomics.add(bell, Bell.CONTROL, 1);
        Atomics.add(bell, Bell.RING, 1);
        Atomics.notify(bell, Bell.RING);
      },
    },
  };
}
