import { EventLogError, type EventLogErrorCode } from '../event-log-error.js';

/**
 * An error as it crosses a thread. A structured clone keeps only message and stack (and turns
 * every class it does not know into Error), so the class, `code` and plain own properties such as
 * `retriable` travel by hand: callers branch on them (isEventLogError(error, 'CLOSED')).
 */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Set for EventLogError. */
  readonly code?: EventLogErrorCode;
  readonly props?: Record<string, string | number | boolean | null>;
}

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const props: Record<string, string | number | boolean | null> = {};
  let any = false;
  for (const name of Object.keys(error)) {
    if (name === 'name' || name === 'message' || (name === 'code' && error instanceof EventLogError)) continue;
    const value = (error as unknown as Record<string, unknown>)[name];
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      props[name] = value;
      any = true;
    }
  }
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(error instanceof EventLogError ? { code: error.code } : {}),
    ...(any ? { props } : {}),
  };
}

export function fromWireError(wire: WireError): Error {
  const error = wire.code !== undefined ? new EventLogError(wire.code, wire.message) : new Error(wire.message);
  if (wire.props !== undefined) Object.assign(error, wire.props);
  // The other thread's stack says where it failed; this thread's would only show the message port.
  if (wire.stack !== undefined) error.stack = wire.stack;
  if (error.name !== wire.name) Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  return error;
}

export function closedError(what: string): EventLogError {
  return new EventLogError('CLOSED', what);
}
