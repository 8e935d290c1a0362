import { deserialize, serialize } from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { RlsContext } from '../../auth/index.js';
import { answerGuestQuery } from '../guest-request.js';
import type { Driver } from '../driver.js';
import { canceled, rlsQuery } from '../rls-database.js';
import { openPgliteDriver } from './pglite-driver.js';
import { abandon, Bell, Cell, channelViews, CHANNEL_DATA_BYTES, LEN_IN_PORT, Op, ReplyStatus, Wide, type ChannelViews } from './thread-channel.js';
import type { ThreadCall, ThreadControl, ThreadInit, ThreadReply } from './thread-messages.js';

/*
 * The PGlite thread: one PGlite instance and a loop that serves its channels one request at a
 * time — the main thread's (owner statements, transactions, Database.query) and each sandbox
 * worker's (guests' db_query). Between requests it spins briefly (a guest's next statement
 * follows its last within microseconds), then sleeps on the shared doorbell.
 */

/** How long the thread spins for the next request before it sleeps (a wake-up costs 50-130 µs here). */
const IDLE_SPIN_MS = 0.1;

interface Channel {
  readonly views: ChannelViews;
  readonly port: MessagePort;
}

const init = workerData as ThreadInit;
const bell = new Int32Array(init.bell);
const channels = new Map<number, Channel>([[0, { views: channelViews(init.channel), port: init.port }]]);
const encoder = new TextEncoder();
let controlSeen = 0;

function drainControl(): void {
  const posted = Atomics.load(bell, Bell.CONTROL);
  while (controlSeen < posted) {
    const received = receiveMessageOnPort(parentPort as unknown as MessagePort);
    if (received === undefined) return;
    controlSeen++;
    const message = received.message as ThreadControl;
    if (message.type === 'open') channels.set(message.id, { views: channelViews(message.channel), port: message.port });
    else {
      channels.get(message.id)?.port.close();
      channels.delete(message.id);
    }
  }
}

function reply(channel: Channel, status: number, bytes: Uint8Array | string): void {
  const { cells, data } = channel.views;
  let length: number;
  if (typeof bytes === 'string' && bytes.length * 3 <= CHANNEL_DATA_BYTES) length = encoder.encodeInto(bytes, data).written;
  else if (typeof bytes !== 'string' && bytes.length <= CHANNEL_DATA_BYTES) {
    data.set(bytes, 0);
    length = bytes.length;
  } else {
    channel.port.postMessage({ answer: typeof bytes === 'string' ? encoder.encode(bytes) : bytes });
    length = LEN_IN_PORT;
  }
  cells[Cell.LEN] = length;
  cells[Cell.STATUS] = status;
  Atomics.add(cells, Cell.DONE, 1);
  Atomics.notify(cells, Cell.DONE);
}

function requestBytes(channel: Channel): { request: Uint8Array; session: string } {
  const { cells, data } = channel.views;
  const length = cells[Cell.LEN] as number;
  if (length === LEN_IN_PORT) {
    const message = receiveMessageOnPort(channel.port)?.message as { request: Uint8Array; session?: string } | undefined;
    return { request: message?.request ?? new Uint8Array(0), session: message?.session ?? '' };
  }
  const sessionLength = cells[Cell.SESSION_LEN] as number;
  return { request: data.subarray(0, length), session: Buffer.from(data.buffer, data.byteOffset + length, sessionLength).toString('utf8') };
}

/** The last session seen and its context: an invocation's statements all carry the same one. */
let lastSession = '';
let lastContext: RlsContext | undefined;

/** "role\nclaims JSON", as the sandbox worker writes it from the job. */
function sessionContext(session: string): RlsContext {
  if (session === lastSession && lastContext !== undefined) return lastContext;
  lastSession = session;
  lastContext = parseSession(session);
  return lastContext;
}

function parseSession(session: string): RlsContext {
  const at = session.indexOf('\n');
  const claims = JSON.parse(session.slice(at + 1)) as Record<string, unknown>;
  const sub = claims['sub'];
  return { role: session.slice(0, at) as RlsContext['role'], sub: typeof sub === 'string' ? sub : null, claims };
}

function errorReply(error: unknown): ThreadReply {
  const failure = error as { message?: string; code?: unknown; name?: string };
  return { ok: false, message: failure?.message ?? String(error), ...(typeof failure?.code === 'string' ? { code: failure.code } : {}) };
}

async function serveGuest(channel: Channel, guestQuery: ReturnType<typeof rlsQuery>): Promise<void> {
  const { cells, wide } = channel.views;
  try {
    const { request, session } = requestBytes(channel);
    const { answer } = await answerGuestQuery(guestQuery, request, sessionContext(session), {
      deadline: wide[Wide.DEADLINE] as number,
      triggerDepth: cells[Cell.TRIGGER_DEPTH] as number,
      ...(init.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: init.maxAnswerBytes }),
    });
    reply(channel, ReplyStatus.OK, answer);
  } catch (error) {
    reply(channel, ReplyStatus.ERROR, `db_query failed on the database thread: ${(error as Error).message}`);
  }
}

/** The main thread's request, or why it cannot be read (answered as an error; the thread goes on). */
function readCall(channel: Channel): ThreadCall | Error {
  const { cells, data } = channel.views;
  const length = cells[Cell.LEN] as number;
  try {
    if (length !== LEN_IN_PORT) return deserialize(data.subarray(0, length)) as ThreadCall;
    const message = receiveMessageOnPort(channel.port)?.message as { call?: ThreadCall } | undefined;
    return message?.call ?? new Error('the request was not on the channel port');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

const send = (channel: Channel, result: ThreadReply): void => reply(channel, result.ok ? ReplyStatus.OK : ReplyStatus.ERROR, serialize(result));

/** Waits for the next request on one channel (inside a transaction nothing else is served). */
async function nextOn(channel: Channel): Promise<void> {
  const { cells } = channel.views;
  while (Atomics.load(cells, Cell.REQ) === Atomics.load(cells, Cell.DONE)) await sleepUntilRung(() => Atomics.load(cells, Cell.REQ) !== Atomics.load(cells, Cell.DONE));
}

async function serveCall(channel: Channel, driver: Driver): Promise<'close' | undefined> {
  const call = readCall(channel);
  if (call instanceof Error) {
    send(channel, errorReply(call));
    return undefined;
  }
  try {
    switch (call.kind) {
      case 'query':
        send(channel, { ok: true, value: await driver.query(call.sql, call.params) });
        return undefined;
      case 'script':
        await driver.script(call.sql);
        send(channel, { ok: true, value: undefined });
        return undefined;
      case 'session': {
        const { cells } = channel.views;
        const check = async (): Promise<Error | undefined> => {
          if (Atomics.load(cells, Cell.ABORTED) === 1) return canceled('the invocation ended');
          if (call.deadline !== undefined && Date.now() > call.deadline) return canceled('the invocation deadline passed while it ran');
          return undefined;
        };
        send(channel, { ok: true, value: await driver.sessionQuery(call.setup, call.sql, call.params, { check, ...(call.writeAnswerCap === undefined ? {} : { writeAnswerCap: call.writeAnswerCap }) }) });
        return undefined;
      }
      case 'begin':
        await serveTransaction(channel, driver);
        return undefined;
      case 'close':
        await driver.close();
        send(channel, { ok: true, value: undefined });
        return 'close';
      default:
        send(channel, { ok: false, message: `"${call.kind}" outside a transaction` });
        return undefined;
    }
  } catch (error) {
    send(channel, errorReply(error));
    return undefined;
  }
}

class RollBack extends Error {}

/** BEGIN was asked: hold PGlite's transaction, serving only this channel, until commit or rollback. */
async function serveTransaction(channel: Channel, driver: Driver): Promise<void> {
  try {
    await driver.transaction(async (tx) => {
      send(channel, { ok: true, value: undefined });
      for (;;) {
        await nextOn(channel);
        const call = readCall(channel);
        if (call instanceof Error) {
          send(channel, errorReply(call));
          continue;
        }
        if (call.kind === 'commit') return;
        if (call.kind === 'rollback') throw new RollBack();
        if (call.kind !== 'tx-query') {
          send(channel, { ok: false, message: `"${call.kind}" inside a transaction` });
          continue;
        }
        try {
          send(channel, { ok: true, value: await tx.query(call.sql, call.params) });
        } catch (error) {
          send(channel, errorReply(error));
        }
      }
    });
    send(channel, { ok: true, value: undefined });
  } catch (error) {
    send(channel, error instanceof RollBack ? { ok: true, value: undefined } : errorReply(error));
  }
}

/** Spins IDLE_SPIN_MS for `ready`, then sleeps on the doorbell until it rings. */
async function sleepUntilRung(ready: () => boolean): Promise<void> {
  const seen = Atomics.load(bell, Bell.RING);
  if (ready()) return;
  const until = performance.now() + IDLE_SPIN_MS;
  while (Atomics.load(bell, Bell.RING) === seen && performance.now() < until);
  if (Atomics.load(bell, Bell.RING) !== seen) return;
  // Say we sleep before the last look (both sequentially consistent): a client that rings after
  // this store sees SLEEPING and notifies; one that rang before it changed RING already.
  Atomics.store(bell, Bell.SLEEPING, 1);
  const waiting = Atomics.waitAsync(bell, Bell.RING, seen);
  if (waiting.async) await waiting.value;
  Atomics.store(bell, Bell.SLEEPING, 0);
}

function hasWork(): boolean {
  if (Atomics.load(bell, Bell.CONTROL) !== controlSeen) return true;
  for (const channel of channels.values()) if (Atomics.load(channel.views.cells, Cell.REQ) !== Atomics.load(channel.views.cells, Cell.DONE)) return true;
  return false;
}

async function serve(driver: Driver): Promise<void> {
  const guestQuery = rlsQuery(driver);
  for (;;) {
    drainControl();
    for (const channel of channels.values()) {
      const { cells } = channel.views;
      if (Atomics.load(cells, Cell.REQ) === Atomics.load(cells, Cell.DONE)) continue;
      if (cells[Cell.OP] === Op.GUEST) await serveGuest(channel, guestQuery);
      else if ((await serveCall(channel, driver)) === 'close') return;
    }
    if (!hasWork()) await sleepUntilRung(hasWork);
  }
}

function stop(): void {
  Atomics.store(bell, Bell.CLOSED, 1);
  drainControl();
  for (const channel of channels.values()) abandon(channel.views.cells);
}

// A pending Atomics.waitAsync does not keep a thread's event loop alive; this timer does.
const keepAlive = setInterval(() => undefined, 1 << 30);
try {
  const driver = await openPgliteDriver(init.options);
  parentPort?.postMessage({ type: 'ready' });
  await serve(driver);
} catch (error) {
  parentPort?.postMessage({ type: 'failed', message: (error as Error).message });
} finally {
  clearInterval(keepAlive);
  stop();
  process.exit(0);
}
