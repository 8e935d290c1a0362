import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/*
 * The shared-memory channels to the PGlite thread (pglite-thread.ts). PGlite is one Postgres
 * backend compiled to wasm: whatever thread runs it is blocked for the whole statement. On its
 * own thread, a slow statement no longer stops the service's event loop, and a sandbox worker can
 * ask it for a guest's db_query itself, without the main thread in between (docs/database.md).
 *
 * Every client (the main thread, each sandbox worker) owns one channel: a request/reply cell pair
 * and a data region. The PGlite thread serves one request at a time, as PGlite itself does. All
 * clients share one doorbell the thread waits on. This file is loaded by sandbox workers too: it
 * must import nothing but Node's own modules.
 */

/** Int32 cells of the doorbell buffer every client shares with the PGlite thread. */
export const Bell = {
  /** Bumped by a client after it posted a request. */
  RING: 0,
  /** 1 while the PGlite thread sleeps (or is about to): a client then notifies RING. */
  SLEEPING: 1,
  /** 1 once the PGlite thread is gone (closed or crashed): clients stop waiting. */
  CLOSED: 2,
  /** Bumped by the main thread after it posted a control message (a channel opened or closed). */
  CONTROL: 3,
} as const;
export const BELL_BYTES = 16;

/** Int32 cells of one channel. */
export const Cell = {
  /** client → thread: how many requests were posted. */
  REQ: 0,
  /** thread → client: how many were answered. */
  DONE: 1,
  /** Request: an Op. Reply: a ReplyStatus. */
  OP: 2,
  STATUS: 3,
  /** Request / reply bytes in the data region (LEN_IN_PORT: over the port). */
  LEN: 4,
  /** Guest request: bytes of the session text after the request bytes; trigger depth. */
  SESSION_LEN: 5,
  TRIGGER_DEPTH: 6,
  /** client → thread: 1 when the caller gave up (aborted) while the statement ran: roll it back. */
  ABORTED: 7,
} as const;
const CELLS = 8;
/** Float64 cells after the Int32 ones. */
export const Wide = { DEADLINE: 0 } as const;
const WIDES = 2;

export const Op = {
  /** A guest's db_query request bytes and its session ("role\nclaims JSON"): answers the guest's JSON. */
  GUEST: 1,
  /** A v8-serialized request from the main thread (pglite-thread-driver.ts). */
  CALL: 2,
} as const;
export const ReplyStatus = { OK: 0, ERROR: 1, ABANDONED: 2 } as const;
export const LEN_IN_PORT = -1;

/** Inline data region per channel; anything larger crosses the channel's MessagePort. */
export const CHANNEL_DATA_BYTES = 256 * 1024;
const DATA_OFFSET = CELLS * 4 + WIDES * 8;
export const CHANNEL_BYTES = DATA_OFFSET + CHANNEL_DATA_BYTES;

export interface ChannelViews {
  readonly cells: Int32Array;
  readonly wide: Float64Array;
  readonly data: Uint8Array;
}

export function channelViews(buffer: SharedArrayBuffer): ChannelViews {
  return {
    cells: new Int32Array(buffer, 0, CELLS),
    wide: new Float64Array(buffer, CELLS * 4, WIDES),
    data: new Uint8Array(buffer, DATA_OFFSET, CHANNEL_DATA_BYTES),
  };
}

/** What a sandbox worker gets to reach the PGlite thread (structured-cloned at its start; `port` transferred). */
export interface GuestDatabaseChannel {
  readonly bell: SharedArrayBuffer;
  readonly channel: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** Hands sandbox workers their own channel to the PGlite thread (a guest's db_query skips the main thread). */
export interface GuestChannels {
  open(): { readonly id: number; readonly link: GuestDatabaseChannel };
  close(id: number): void;
}

/**
 * Posts the request in the channel's cells (already written) and rings the thread. Once the
 * thread is closed, whoever closed it sweeps the channels (abandon) after setting CLOSED; a request
 * posted after that sweep sees CLOSED here and answers itself.
 */
export function ring(bell: Int32Array, cells: Int32Array): number {
  const posted = Atomics.add(cells, Cell.REQ, 1) + 1;
  Atomics.add(bell, Bell.RING, 1);
  if (Atomics.load(bell, Bell.CLOSED) === 1) abandon(cells);
  if (Atomics.load(bell, Bell.SLEEPING) === 1) Atomics.notify(bell, Bell.RING);
  return posted;
}

/** Answers every request still outstanding on a channel with ABANDONED, so no client waits for a thread that is gone. */
export function abandon(cells: Int32Array): void {
  const requested = Atomics.load(cells, Cell.REQ);
  if (Atomics.load(cells, Cell.DONE) === requested) return;
  cells[Cell.STATUS] = ReplyStatus.ABANDONED;
  cells[Cell.LEN] = 0;
  Atomics.store(cells, Cell.DONE, requested);
  Atomics.notify(cells, Cell.DONE);
}

export class DatabaseThreadGone extends Error {
  constructor() {
    super('the database thread has stopped (the database was closed or crashed)');
    this.name = 'DatabaseThreadGone';
  }
}

/**
 * Returns once `cells[index]` is no longer `last` (the sandbox worker's ReplyWaiter: sleep, spin
 * or both, as the job's situation allows); `posted` is performance.now() at the request.
 */
export type ReplyWait = (cells: Int32Array, index: number, last: number, posted: number) => void;

/**
 * The sandbox worker's end: a guest's db_query, synchronously, waiting for the reply as it waits
 * for any host call's. When the PGlite thread stops, whoever stops it moves DONE on every channel
 * with a request outstanding (pglite-thread.ts, pglite-thread-driver.ts) and sets CLOSED.
 */
export class GuestDatabaseClient {
  private readonly bell: Int32Array;
  private readonly views: ChannelViews;
  private readonly encoder = new TextEncoder();

  constructor(private readonly link: GuestDatabaseChannel) {
    this.bell = new Int32Array(link.bell);
    this.views = channelViews(link.channel);
  }

  /** The guest's request bytes → the answer bytes (`{"rows":…}` or `{"error":…}`); throws when the thread is gone. */
  query(request: Uint8Array, session: string, triggerDepth: number, deadline: number, wait: ReplyWait): Uint8Array {
    const { cells, wide, data } = this.views;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    if (request.length + session.length * 3 <= CHANNEL_DATA_BYTES) {
      data.set(request, 0);
      cells[Cell.SESSION_LEN] = this.encoder.encodeInto(session, data.subarray(request.length)).written;
      cells[Cell.LEN] = request.length;
    } else {
      this.link.port.postMessage({ request: request.slice(), session });
      cells[Cell.LEN] = LEN_IN_PORT;
    }
    cells[Cell.OP] = Op.GUEST;
    cells[Cell.TRIGGER_DEPTH] = triggerDepth;
    cells[Cell.ABORTED] = 0;
    wide[Wide.DEADLINE] = deadline;
    if (Atomics.load(this.bell, Bell.CLOSED) === 1) throw new DatabaseThreadGone();
    const postedAt = performance.now();
    const posted = ring(this.bell, cells);
    wait(cells, Cell.DONE, posted - 1, postedAt);
    const length = cells[Cell.LEN] as number;
    let answer: Uint8Array;
    if (length === LEN_IN_PORT) {
      const message = receiveMessageOnPort(this.link.port)?.message as { answer?: Uint8Array } | undefined;
      answer = message?.answer ?? this.encoder.encode('{"error":{"message":"the database thread lost its answer"}}');
    } else {
      // A view, not a copy: the caller copies it into the guest before the next request.
      answer = data.subarray(0, length);
    }
    const status = cells[Cell.STATUS];
    if (status === ReplyStatus.ABANDONED) throw new DatabaseThreadGone();
    if (status !== ReplyStatus.OK) throw new Error(Buffer.from(answer).toString('utf8'));
    return answer;
  }
}
