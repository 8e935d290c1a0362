import type { RlsContext } from '../auth/index.js';
import type { DatabaseOperation } from '../registry/index.js';

/**
 * One row change, whatever format it arrived in (DESIGN §4.6). AeroDB's own change capture writes
 * this shape to `aerodb.changes`; Debezium envelopes are normalised into it by the decoder.
 */
export interface ChangeEvent {
  readonly table: string;
  readonly schema: string | null;
  readonly op: DatabaseOperation;
  readonly row: Readonly<Record<string, unknown>> | null;
  readonly old: Readonly<Record<string, unknown>> | null;
  /** Commit time in ms since the epoch (0 when the source did not say). */
  readonly commitTs: number;
  readonly txId: string | null;
  /** Who made the change; database triggers run with it (DESIGN §5), else as the service role. */
  readonly context: RlsContext | null;
  /** How many function-caused writes led here: 0 for a change made by a client (loop guard). */
  readonly triggerDepth: number;
  readonly format: 'aerodb' | 'debezium';
}

/** What the decoder makes of one log record: an event, a record to pass over, or a poison record. */
export type DecodeResult =
  | { readonly kind: 'event'; readonly event: ChangeEvent }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string };

/** The header a change-capture writer may use instead of (or besides) the `triggerDepth` field. */
export const triggerDepthHeader = 'aerofn-trigger-depth';
