import type { MessagePort } from 'node:worker_threads';
import type {
  AppendRecord,
  AppendResult,
  Batch,
  BatchResult,
  EventLog,
  LogRecord,
  LogTransaction,
  ReadOptions,
  SubscribeOptions,
  Subscription,
  TopicPartitionOffset,
  TopicSpec,
} from '../event-log.js';
import { packAppend, unpackRecords, type PackedRecords } from './packed-records.js';
import type { ClientMessage, Request, ServerMessage } from './thread-messages.js';
import { isEventLogError } from '../event-log-error.js';
import { closedError, fromWireError, toWireError } from './wire-error.js';

/**
 * The EventLog of another thread (served there by serveEventLog), over `port`. Every call is a
 * request answered by id; a subscription's batches come the other way and are answered once the
 * caller's eachBatch settles. `kind` is the served log's, for callers that branch on it.
 */
export function connectEventLog(port: MessagePort, kind: 'embedded' | 'kafka'): EventLog {
  return new ThreadEventLog(port, kind);
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

class ThreadEventLog implements EventLog {
  private readonly pending = new Map<number, Pending>();
  readonly subscriptions = new Map<number, ThreadSubscription>();
  /** Delivered batches the log's owner asked back (Batch.yieldRequested), until they are answered. */
  private readonly yieldRequests = new Set<number>();
  private nextId = 0;
  private nextSubscription = 0;
  private nextTransaction = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private referenced = true;

  constructor(
    private readonly port: MessagePort,
    readonly kind: 'embedded' | 'kafka',
  ) {
    port.on('message', (message: ServerMessage) => this.receive(message));
    port.once('close', () => this.gone());
    this.keepAlive();
  }

  ensureTopic(spec: TopicSpec): Promise<void> {
    return this.call({ op: 'ensureTopic', spec });
  }

  partitionCount(topic: string): Promise<number> {
    return this.call({ op: 'partitionCount', topic });
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    const { packed, transfer } = packAppend(records);
    const flat = await this.call<Float64Array>({ op: 'append', topic, records: packed }, transfer);
    const results = new Array<AppendResult>(flat.length / 2);
    for (let i = 0; i < results.length; i++) results[i] = { partition: flat[2 * i]!, offset: flat[2 * i + 1]! };
    return results;
  }

  async read(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<LogRecord[]> {
    return unpackRecords(topic, partition, await this.call<PackedRecords>({ op: 'read', topic, partition, fromOffset, options }));
  }

  startOffsets(topic: string): Promise<number[]> {
    return this.call({ op: 'startOffsets', topic });
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.call({ op: 'endOffsets', topic });
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.call({ op: 'offsetForTimestamp', topic, partition, timestamp });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const sid = ++this.nextSubscription;
    const subscription = new ThreadSubscription(this, sid, options.eachBatch, options.onRevoked);
    // Before the request: the first batch may come before its answer.
    this.subscriptions.set(sid, subscription);
    this.keepAlive();
    const topics = options.topics.map((topic) => (typeof topic === 'string' ? topic : { source: topic.source, flags: topic.flags }));
    try {
      await this.call({ op: 'subscribe', sid, groupId: options.groupId, topics, start: options.start, revokes: options.onRevoked !== undefined });
    } catch (error) {
      this.forget(sid);
      throw error;
    }
    return subscription;
  }

  commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return this.call({ op: 'commitOffsets', groupId, offsets });
  }

  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return this.call({ op: 'committedOffsets', groupId, topic });
  }

  async beginTransaction(transactionalId: string): Promise<LogTransaction> {
    const xid = ++this.nextTransaction;
    await this.call({ op: 'beginTransaction', xid, transactionalId });
    return new ThreadTransaction(this, xid);
  }

  /**
   * Resolves once the other side has ended this client's subscriptions and transactions (and
   * closed the log, if it serves it with closeLog). Batches already running finish first; batches
   * that arrive from now on are not run.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.state === 'closed') return (this.closing = Promise.resolve());
    this.state = 'closing';
    for (const subscription of this.subscriptions.values()) subscription.closed = true;
    this.closing = this.send<void>({ op: 'close' })
      .catch((error: unknown) => {
        // The other side going away mid-close leaves nothing open there.
        if (!isEventLogError(error, 'CLOSED')) throw error;
      })
      .finally(() => this.end('the event log is closed'));
    return this.closing;
  }

  call<T>(req: Request, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.state !== 'open') return Promise.reject(closedError('the event log is closed'));
    return this.send<T>(req, transfer);
  }

  /** A message that has no answer (pause, resume); dropped once closed, as those calls are no-ops then. */
  note(message: ClientMessage): void {
    if (this.state === 'open') this.port.postMessage(message);
  }

  forget(sid: number): void {
    this.subscriptions.delete(sid);
    this.keepAlive();
  }

  /** Settles when the log's close has (resolves at once if it was never closed, only lost). */
  ended(): Promise<void> {
    return (this.closing ?? Promise.resolve()).catch(() => undefined);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private send<T>(req: Request, transfer?: ArrayBuffer[]): Promise<T> {
    const id = ++this.nextId;
    const answer = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    try {
      this.port.postMessage({ t: 'call', id, req } satisfies ClientMessage, transfer);
    } catch (error) {
      // Arguments that cannot be cloned (DataCloneError) fail this call only.
      this.pending.delete(id);
      return Promise.reject(error);
    }
    this.keepAlive();
    return answer;
  }

  private receive(message: ServerMessage): void {
    if (message.t === 'batch') return this.deliver(message);
    if (message.t === 'yield') {
      this.yieldRequests.add(message.bid);
      return;
    }
    if (message.t === 'revoked') return this.revoked(message);
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    this.keepAlive();
    if (message.t === 'reply') pending.resolve(message.value);
    else pending.reject(fromWireError(message.error));
  }

  private deliver(message: Extract<ServerMessage, { t: 'batch' }>): void {
    const { bid, topic, partition } = message;
    const subscription = this.subscriptions.get(message.sid);
    if (subscription === undefined || subscription.closed) {
      this.answer({ t: 'ack', bid });
      return;
    }
    const yields = this.yieldRequests;
    const batch: Batch = { topic, partition, records: unpackRecords(topic, partition, message.records), yieldRequested: () => yields.has(bid) };
    let done: Promise<void | BatchResult>;
    try {
      done = Promise.resolve(subscription.eachBatch(batch));
    } catch (error) {
      done = Promise.reject(error);
    }
    done
      .then(
        (result) => this.answer(result === undefined ? { t: 'ack', bid } : { t: 'ack', bid, taken: result.taken }),
        (error: unknown) => this.answer({ t: 'ack', bid, error: toWireError(error) }),
      )
      .finally(() => yields.delete(bid));
  }

  private revoked(message: Extract<ServerMessage, { t: 'revoked' }>): void {
    const { bid, topic, partition } = message;
    const subscription = this.subscriptions.get(message.sid);
    const onRevoked = subscription?.closed === false ? subscription.onRevoked : undefined;
    if (onRevoked === undefined) {
      this.answer({ t: 'ack', bid });
      return;
    }
    Promise.resolve()
      .then(() => onRevoked({ topic, partition }))
      .then(
        () => this.answer({ t: 'ack', bid }),
        (error: unknown) => this.answer({ t: 'ack', bid, error: toWireError(error) }),
      );
  }

  private answer(message: ClientMessage): void {
    if (this.state !== 'closed') this.port.postMessage(message);
  }

  /** A client at rest does not hold its thread open; one with a call or a subscription out does. */
  private keepAlive(): void {
    const busy = this.pending.size > 0 || this.subscriptions.size > 0;
    if (busy === this.referenced) return;
    this.referenced = busy;
    if (busy) this.port.ref();
    else this.port.unref();
  }

  private gone(): void {
    if (this.state === 'closed') return;
    this.end("the event log's thread has gone away");
  }

  private end(why: string): void {
    this.state = 'closed';
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const subscription of this.subscriptions.values()) subscription.closed = true;
    this.subscriptions.clear();
    for (const call of pending) call.reject(closedError(why));
    this.keepAlive();
    this.port.close();
  }
}

class ThreadSubscription implements Subscription {
  /** Set once closing starts: a batch that arrives later is answered without being run. */
  closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly log: ThreadEventLog,
    private readonly sid: number,
    readonly eachBatch: (batch: Batch) => Promise<void | BatchResult>,
    readonly onRevoked?: SubscribeOptions['onRevoked'],
  ) {}

  pause(): void {
    this.log.note({ t: 'pause', sid: this.sid });
  }

  resume(): void {
    this.log.note({ t: 'resume', sid: this.sid });
  }

  assignments(): Promise<ReadonlyArray<{ topic: string; partition: number; lag: number }>> {
    return this.log.call({ op: 'assignments', sid: this.sid });
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    // Once the log is closing, its close ends this subscription on the other side.
    const ended = this.log.isOpen ? this.log.call<void>({ op: 'unsubscribe', sid: this.sid }) : this.log.ended();
    this.closing = ended
      .catch((error: unknown) => {
        // The other side gone, nothing of this subscription is left there.
        if (!isEventLogError(error, 'CLOSED')) throw error;
      })
      .finally(() => this.log.forget(this.sid));
    return this.closing;
  }
}

class ThreadTransaction implements LogTransaction {
  constructor(
    private readonly log: ThreadEventLog,
    private readonly xid: number,
  ) {}

  append(topic: string, records: readonly AppendRecord[]): Promise<void> {
    const { packed, transfer } = packAppend(records);
    return this.log.call({ op: 'txAppend', xid: this.xid, topic, records: packed }, transfer);
  }

  commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return this.log.call({ op: 'txCommitOffsets', xid: this.xid, groupId, offsets });
  }

  commit(): Promise<void> {
    return this.log.call({ op: 'txCommit', xid: this.xid });
  }

  abort(): Promise<void> {
    // The log's close aborted it on the other side already; error paths abort without checking.
    if (!this.log.isOpen) return Promise.resolve();
    return this.log.call({ op: 'txAbort', xid: this.xid });
  }
}
