import type { ChangeEvent } from '../triggers/index.js';
import type { FunctionErrorJson } from '../errors/index.js';
import type { FunctionDefinition } from '../registry/index.js';
import type { LogRecord } from '../eventlog/index.js';
import type { InvocationRecord } from '../invoker/index.js';

/** The fields of a LogRecord the pipeline reads (tests can build them by hand). */
export type LogRecordLike = Pick<LogRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'timestamp'>;

/** Where a dead letter was decided. */
export type DeadLetterStage = 'decode' | 'loop-guard' | 'invoke';

/**
 * `aerofn.dlq` (DESIGN §4.6): the original record as it was read, why it stopped, and for an
 * invocation failure the function, the last error and the number of attempts.
 */
export interface DeadLetter {
  readonly stage: DeadLetterStage;
  readonly reason: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: number };
  readonly original: {
    readonly key: string | null;
    /** UTF-8 text of the value when it is text, else base64 with `valueEncoding: 'base64'`. */
    readonly value: string | null;
    readonly valueEncoding: 'utf8' | 'base64';
    readonly headers: Readonly<Record<string, string>>;
    readonly timestamp: number;
  };
  readonly function: { readonly name: string; readonly version: number } | null;
  readonly invocationId: string | null;
  readonly error: FunctionErrorJson | null;
  readonly attempts: number;
  readonly triggerDepth: number | null;
  readonly at: string;
}

/** One record on its way through the stages; the union says how far it got. */
export type Routed =
  | { readonly kind: 'event'; readonly record: LogRecordLike; readonly event: ChangeEvent }
  | { readonly kind: 'matched'; readonly record: LogRecordLike; readonly event: ChangeEvent; readonly functions: readonly FunctionDefinition[] }
  | { readonly kind: 'skip'; readonly record: LogRecordLike; readonly reason: string }
  | { readonly kind: 'dead'; readonly record: LogRecordLike; readonly stage: DeadLetterStage; readonly reason: string; readonly triggerDepth: number | null };

/** Everything one source record caused, once all of it is known: the unit of commit. */
export interface Completion {
  readonly record: LogRecordLike;
  readonly invocations: readonly InvocationRecord[];
  readonly deadLetters: readonly DeadLetter[];
  /**
   * Set when the record's work was given up at shutdown (the drain bound passed): its records are
   * written but its offset is not committed, so the event is redelivered after a restart.
   */
  readonly abandoned?: true;
}

/** One (event, function) pair: the unit that is invoked, retried and maybe dead-lettered. */
export interface InvocationTask {
  readonly record: LogRecordLike;
  readonly event: ChangeEvent;
  readonly fn: FunctionDefinition;
  readonly invocationId: string;
}
