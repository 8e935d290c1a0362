import type { ReadOptions, StartPosition, TopicPartitionOffset, TopicSpec } from '../event-log.js';
import type { PackedAppend, PackedRecords } from './packed-records.js';
import type { WireError } from './wire-error.js';

/** A subscribed topic: RegExps cross as source and flags (their lastIndex means nothing here). */
export type WireTopic = string | { readonly source: string; readonly flags: string };

/**
 * What the client asks of the log's owner. `sid` and `xid` are the client's own numbers for a
 * subscription and a transaction; the server keeps the real objects under them.
 */
export type Request =
  | { readonly op: 'ensureTopic'; readonly spec: TopicSpec }
  | { readonly op: 'partitionCount'; readonly topic: string }
  | { readonly op: 'append'; readonly topic: string; readonly records: PackedAppend }
  | { readonly op: 'read'; readonly topic: string; readonly partition: number; readonly fromOffset: number; readonly options: ReadOptions | undefined }
  | { readonly op: 'startOffsets'; readonly topic: string }
  | { readonly op: 'endOffsets'; readonly topic: string }
  | { readonly op: 'offsetForTimestamp'; readonly topic: string; readonly partition: number; readonly timestamp: number }
  | { readonly op: 'subscribe'; readonly sid: number; readonly groupId: string; readonly topics: readonly WireTopic[]; readonly start: StartPosition | undefined; readonly revokes: boolean }
  | { readonly op: 'assignments'; readonly sid: number }
  | { readonly op: 'unsubscribe'; readonly sid: number }
  | { readonly op: 'commitOffsets'; readonly groupId: string; readonly offsets: readonly TopicPartitionOffset[] }
  | { readonly op: 'committedOffsets'; readonly groupId: string; readonly topic: string }
  | { readonly op: 'beginTransaction'; readonly xid: number; readonly transactionalId: string }
  | { readonly op: 'txAppend'; readonly xid: number; readonly topic: string; readonly records: PackedAppend }
  | { readonly op: 'txCommitOffsets'; readonly xid: number; readonly groupId: string; readonly offsets: readonly TopicPartitionOffset[] }
  | { readonly op: 'txCommit'; readonly xid: number }
  | { readonly op: 'txAbort'; readonly xid: number }
  | { readonly op: 'close' };

/** Messages from the client: requests (answered by id) and notes (answered by nothing). */
export type ClientMessage =
  | { readonly t: 'call'; readonly id: number; readonly req: Request }
  | { readonly t: 'pause' | 'resume'; readonly sid: number }
  /** The client's answer to a delivered batch: no error means its eachBatch resolved (with `taken`, if it took fewer). */
  | { readonly t: 'ack'; readonly bid: number; readonly error?: WireError; readonly taken?: number };

/** Messages from the log's owner. */
export type ServerMessage =
  | { readonly t: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly t: 'fail'; readonly id: number; readonly error: WireError }
  | { readonly t: 'batch'; readonly bid: number; readonly sid: number; readonly topic: string; readonly partition: number; readonly records: PackedRecords }
  /** The log asks for a delivered batch back soon (Batch.yieldRequested turned true). */
  | { readonly t: 'yield'; readonly bid: number }
  /** A partition was revoked (SubscribeOptions.onRevoked); answered with an ack like a batch. */
  | { readonly t: 'revoked'; readonly bid: number; readonly sid: number; readonly topic: string; readonly partition: number };
