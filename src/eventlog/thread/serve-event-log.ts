import type { MessagePort } from 'node:worker_threads';
import type { Batch, BatchResult, EventLog, LogTransaction, Subscription } from '../event-log.js';
import { EventLogError } from '../event-log-error.js';
import { packRecords, unpackAppend } from './packed-records.js';
import type { ClientMessage, Request, ServerMessage, WireTopic } from './thread-messages.js';
import { closedError, fromWireError, toWireError } from './wire-error.js';

export interface ServeEventLogOptions {
  /**
   * Close `log` too when the client closes (or goes away). For a log that exists only to be
   * served; by default the owner keeps its log and only the client's subscriptions and
   * transactions end.
   */
  readonly closeLog?: boolean;
}

export interface EventLogServer {
  /** Settles once serving has ended: the client closed, its port went away, or close() was called. */
  readonly closed: Promise<void>;
  /** Ends the client's subscriptions and transactions and closes the port. */
  close(): Promise<void>;
}

/**
 * Answers an EventLog client (connectEventLog) on `port`, in the thread that owns `log`. Runs on
 * the owner's thread for every record a stream thread consumes, so a batch crosses as one
 * transferred buffer (packed-records.ts) and the rest of the work stays on the client's side.
 */
export function serveEventLog(log: EventLog, port: MessagePort, options: ServeEventLogOptions = {}): EventLogServer {
  const server = new LogServer(log, port, options.closeLog ?? false);
  return { closed: server.closed, close: () => server.shutdown('owner') };
}

interface Ack {
  resolve(taken: number | undefined): void;
  reject(error: Error): void;
}

/** How often a delivered batch's yieldRequested is looked at, to pass a rebalance's request on. */
const YIELD_POLL_MS = 100;

class LogServer {
  readonly closed: Promise<void>;
  private markClosed: () => void = () => undefined;
  /** Subscriptions whose batches still go to the client (from before subscribe resolves). */
  private readonly live = new Set<number>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly subscribing = new Map<number, Promise<Subscription | undefined>>();
  private readonly transactions = new Map<number, LogTransaction>();
  private readonly acks = new Map<number, Ack>();
  private nextBatch = 0;
  private ending: Promise<void> | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly port: MessagePort,
    private readonly closeLog: boolean,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    port.on('message', (message: ClientMessage) => this.receive(message));
    port.once('close', () => void this.shutdown('gone').catch(() => undefined));
  }

  private receive(message: ClientMessage): void {
    switch (message.t) {
      case 'call': {
        const { id, req } = message;
        if (req.op === 'close') {
          this.shutdown('client').then(
            () => this.post({ t: 'reply', id, value: undefined }),
            (error: unknown) => this.post({ t: 'fail', id, error: toWireError(error) }),
          ).finally(() => this.port.close());
          return;
        }
        if (this.ending !== undefined) {
          this.post({ t: 'fail', id, error: toWireError(closedError('the event log is closed')) });
          return;
        }
        this.handle(req).then(
          ({ value, transfer }) => this.reply(id, value, transfer),
          (error: unknown) => this.post({ t: 'fail', id, error: toWireError(error) }),
        );
        return;
      }
      case 'ack': {
        const ack = this.acks.get(message.bid);
        if (ack === undefined) return;
        this.acks.delete(message.bid);
        if (message.error === undefined) ack.resolve(message.taken);
        else ack.reject(fromWireError(message.error));
        return;
      }
      case 'pause':
        this.subscriptions.get(message.sid)?.pause();
        return;
      case 'resume':
        this.subscriptions.get(message.sid)?.resume();
        return;
    }
  }

  private reply(id: number, value: unknown, transfer: ArrayBuffer[] | undefined): void {
    try {
      this.post({ t: 'reply', id, value }, transfer);
    } catch (error) {
      // An answer that cannot be cloned (DataCloneError) fails its own call, not the server.
      this.post({ t: 'fail', id, error: toWireError(error) });
    }
  }

  private post(message: ServerMessage, transfer?: ArrayBuffer[]): void {
    this.port.postMessage(message, transfer);
  }

  /** A request's answer; reads and append results are moved, not copied. */
  private async handle(req: Exclude<Request, { op: 'close' }>): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
    switch (req.op) {
      case 'append': {
        const results = await this.log.append(req.topic, unpackAppend(req.records));
        const flat = new Float64Array(results.length * 2);
        for (let i = 0; i < results.length; i++) {
          flat[2 * i] = results[i]!.partition;
          flat[2 * i + 1] = results[i]!.offset;
        }
        return { value: flat, transfer: [flat.buffer] };
      }
      case 'read': {
        const packed = packRecords(await this.log.read(req.topic, req.partition, req.fromOffset, req.options));
        return { value: packed, transfer: [packed.bytes] };
      }
      default:
        return { value: await this.answer(req) };
    }
  }

  private async answer(req: Exclude<Request, { op: 'close' | 'append' | 'read' }>): Promise<unknown> {
    const { log } = this;
    switch (req.op) {
      case 'ensureTopic':
        return log.ensureTopic(req.spec);
      case 'partitionCount':
        return log.partitionCount(req.topic);
      case 'startOffsets':
        return log.startOffsets(req.topic);
      case 'endOffsets':
        return log.endOffsets(req.topic);
      case 'offsetForTimestamp':
        return log.offsetForTimestamp(req.topic, req.partition, req.timestamp);
      case 'subscribe':
        return this.subscribe(req);
      case 'assignments':
        return (await this.subscriptions.get(req.sid)?.assignments()) ?? [];
      case 'unsubscribe': {
        const subscription = this.subscriptions.get(req.sid);
        this.live.delete(req.sid);
        this.subscriptions.delete(req.sid);
        return subscription?.close();
      }
      case 'commitOffsets':
        return log.commitOffsets(req.groupId, req.offsets);
      case 'committedOffsets':
        return log.committedOffsets(req.groupId, req.topic);
      case 'beginTransaction':
        this.transactions.set(req.xid, await log.beginTransaction(req.transactionalId));
        return undefined;
      case 'txAppend':
        return this.transaction(req.xid).append(req.topic, unpackAppend(req.records));
      case 'txCommitOffsets':
        return this.transaction(req.xid).commitOffsets(req.groupId, req.offsets);
      case 'txCommit':
        // Kept after a failed commit: the caller aborts next, and that must reach the transaction.
        await this.transaction(req.xid).commit();
        this.transactions.delete(req.xid);
        return undefined;
      case 'txAbort': {
        const transaction = this.transactions.get(req.xid);
        if (transaction === undefined) return undefined; // aborting an ended transaction is a no-op, as in both adapters
        await transaction.abort();
        this.transactions.delete(req.xid);
        return undefined;
      }
    }
  }

  private async subscribe(req: Extract<Request, { op: 'subscribe' }>): Promise<void> {
    const { sid } = req;
    // Live before subscribe() returns: the log may deliver the first batch before that.
    this.live.add(sid);
    const subscribing = this.log
      .subscribe({
        groupId: req.groupId,
        topics: req.topics.map(fromWireTopic),
        ...(req.start === undefined ? {} : { start: req.start }),
        eachBatch: (batch) => this.forward(sid, batch),
        ...(req.revokes ? { onRevoked: (partition: { topic: string; partition: number }) => this.revoke(sid, partition) } : {}),
      })
      .then((subscription) => {
        if (this.ending === undefined) this.subscriptions.set(sid, subscription);
        return subscription;
      })
      .finally(() => this.subscribing.delete(sid));
    this.subscribing.set(sid, subscribing.catch(() => undefined));
    try {
      await subscribing;
    } catch (error) {
      this.live.delete(sid);
      throw error;
    }
    if (this.ending !== undefined) throw closedError('the event log closed while subscribing');
  }

  /**
   * The log's eachBatch: the client runs the caller's and answers; its failure is this one's, so
   * the log retries as it would for a local callback. A batch for a subscription that is closing
   * is not sent: like a member that leaves with a fetch in hand, nothing of it is committed and
   * the partition's next owner starts at the committed offset.
   */
  private forward(sid: number, batch: Batch): Promise<void | BatchResult> {
    if (!this.live.has(sid)) return Promise.resolve();
    const bid = ++this.nextBatch;
    const records = packRecords(batch.records);
    const answered = new Promise<void | BatchResult>((resolve, reject) => {
      this.acks.set(bid, { resolve: (taken) => resolve(taken === undefined ? undefined : { taken }), reject });
      this.post({ t: 'batch', bid, sid, topic: batch.topic, partition: batch.partition, records }, [records.bytes]);
    });
    const { yieldRequested } = batch;
    if (yieldRequested === undefined) return answered;
    // A rebalance's request for the batch back is a flag on this side; the client learns of it.
    const watch = setInterval(() => {
      if (!yieldRequested()) return;
      clearInterval(watch);
      if (this.acks.has(bid)) this.post({ t: 'yield', bid });
    }, YIELD_POLL_MS);
    return answered.finally(() => clearInterval(watch));
  }

  /** The log's onRevoked: the client runs the caller's; the partition's next owner waits for the ack. */
  private revoke(sid: number, partition: { topic: string; partition: number }): Promise<void> {
    if (!this.live.has(sid)) return Promise.resolve();
    const bid = ++this.nextBatch;
    return new Promise<void>((resolve, reject) => {
      this.acks.set(bid, { resolve: () => resolve(), reject });
      this.post({ t: 'revoked', bid, sid, topic: partition.topic, partition: partition.partition });
    });
  }

  private transaction(xid: number): LogTransaction {
    const transaction = this.transactions.get(xid);
    if (transaction === undefined) throw new EventLogError('TRANSACTION_STATE', 'the transaction is already committed or aborted; begin a new one');
    return transaction;
  }

  /**
   * Ends what the client opened. On the client's own close its batches in hand are awaited (its
   * close resolves after its callbacks, as the adapters' do); when the owner closes or the client
   * is gone, no answer is coming and they fail at once.
   */
  shutdown(cause: 'client' | 'owner' | 'gone'): Promise<void> {
    // Even during the client's own close: if it dies meanwhile, its answers are not coming.
    if (cause !== 'client') this.failBatchesInHand();
    if (this.ending !== undefined) return this.ending;
    const ending = (async () => {
      this.live.clear();
      const subscriptions = [...this.subscriptions.values()];
      const transactions = [...this.transactions.values()];
      this.subscriptions.clear();
      this.transactions.clear();
      await Promise.allSettled([
        ...subscriptions.map((subscription) => subscription.close()),
        ...[...this.subscribing.values()].map(async (subscribing) => (await subscribing)?.close()),
        ...transactions.map((transaction) => transaction.abort()),
      ]);
      if (this.closeLog) await this.log.close();
    })();
    this.ending = ending;
    ending
      .finally(() => {
        if (cause === 'owner') this.port.close();
        this.markClosed();
      })
      .catch(() => undefined);
    return ending;
  }

  private failBatchesInHand(): void {
    const acks = [...this.acks.values()];
    this.acks.clear();
    for (const ack of acks) ack.reject(closedError('the event log client went away before it finished the batch'));
  }
}

function fromWireTopic(topic: WireTopic): string | RegExp {
  return typeof topic === 'string' ? topic : new RegExp(topic.source, topic.flags);
}
