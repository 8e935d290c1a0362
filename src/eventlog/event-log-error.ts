/**
 * Failures of the log itself (not of a function): a data dir held by another process, a topic
 * that was never created, a corrupt segment. They are infrastructure errors, so they are not
 * FunctionError kinds; callers log them and stop or retry. `code` is stable for tests and logs.
 */
export type EventLogErrorCode =
  | 'LOCKED'
  | 'UNKNOWN_TOPIC'
  | 'INVALID_ARGUMENT'
  | 'RECORD_TOO_LARGE'
  | 'CORRUPT'
  | 'CLOSED'
  | 'TRANSACTION_STATE'
  | 'BACKEND';

export class EventLogError extends Error {
  readonly code: EventLogErrorCode;

  constructor(code: EventLogErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventLogError';
    this.code = code;
  }
}

export function isEventLogError(value: unknown, code?: EventLogErrorCode): value is EventLogError {
  return value instanceof EventLogError && (code === undefined || value.code === code);
}

/** Kafka's rule for topic names, plus ours: no leading dot (the embedded log keeps its own files there). */
export function checkTopicName(name: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || name.startsWith('.')) {
    throw new EventLogError('INVALID_ARGUMENT', `invalid topic name "${name}": use 1-249 of [a-zA-Z0-9._-], not starting with "."`);
  }
}
