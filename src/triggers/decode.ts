import { triggerDepthHeader, type DecodeResult } from './change-event.js';
import { decodeAeroEvent, isPlainObject } from './decode-aerodb.js';
import { decodeDebeziumPayload, looksLikeDebezium } from './decode-debezium.js';

/** The parts of a log record the decoder reads (a LogRecord fits). */
export interface EncodedChange {
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Turns one change-topic record into a ChangeEvent. Never throws: a record it cannot read comes
 * back as `{kind: 'error', reason}` so the pipeline dead-letters it and goes on.
 * Accepted: AeroDB events; Debezium envelopes with the JSON converter's schema wrapper
 * (`{schema, payload}`) or without it; tombstones (null value) are skipped.
 */
export function decodeChange(record: EncodedChange): DecodeResult {
  if (record.value === null) return { kind: 'skip', reason: 'tombstone (null value)' };
  const text = typeof record.value === 'string' ? record.value : record.value.toString('utf8');
  if (text.length === 0) return { kind: 'skip', reason: 'tombstone (empty value)' };
  const headerDepth = parseHeaderDepth(record.headers?.[triggerDepthHeader]);
  if (headerDepth === 'invalid') return { kind: 'error', reason: `header ${triggerDepthHeader} must be a whole number ≥ 0` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { kind: 'error', reason: `value is not JSON: ${(error as Error).message}` };
  }
  if (!isPlainObject(parsed)) return { kind: 'error', reason: 'value is not a JSON object' };
  // The JSON converter with schemas.enable=true wraps the envelope as {schema, payload}.
  if ('payload' in parsed && 'schema' in parsed && !('table' in parsed)) {
    const payload = parsed['payload'];
    if (payload === null) return { kind: 'skip', reason: 'tombstone (null payload)' };
    if (!isPlainObject(payload)) return { kind: 'error', reason: 'schema-wrapped value has no payload object' };
    parsed = payload;
  }
  const value = parsed as Record<string, unknown>;
  if (looksLikeDebezium(value)) return decodeDebeziumPayload(value, headerDepth);
  if ('table' in value && 'op' in value) return decodeAeroEvent(value, headerDepth);
  return { kind: 'error', reason: 'neither an AeroDB change event ({table, op, row}) nor a Debezium envelope ({op, before, after, source})' };
}

function parseHeaderDepth(raw: string | undefined): number | null | 'invalid' {
  if (raw === undefined) return null;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : 'invalid';
}
