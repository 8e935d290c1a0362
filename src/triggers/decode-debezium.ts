import type { DatabaseOperation } from '../registry/index.js';
import type { DecodeResult } from './change-event.js';
import { isPlainObject } from './decode-aerodb.js';

const debeziumOps: Readonly<Record<string, DatabaseOperation>> = { c: 'INSERT', r: 'INSERT', u: 'UPDATE', d: 'DELETE' };

/** A Debezium payload: `{before, after, source: {schema, table, txId, ts_ms}, op}`. */
export function looksLikeDebezium(value: Record<string, unknown>): boolean {
  return typeof value['op'] === 'string' && isPlainObject(value['source']) && ('before' in value || 'after' in value || value['op'] === 't' || value['op'] === 'm');
}

/**
 * Debezium's envelope (DESIGN §4.6): `c` and `r` (snapshot read) become INSERT, `u` UPDATE, `d`
 * DELETE. Truncate (`t`) and logical messages (`m`) name no row, so they are passed over, not
 * dead-lettered: they are valid records a trigger on rows cannot act on.
 */
export function decodeDebeziumPayload(payload: Record<string, unknown>, headerDepth: number | null): DecodeResult {
  const opCode = payload['op'];
  const source = payload['source'];
  if (typeof opCode !== 'string' || !isPlainObject(source)) return { kind: 'error', reason: 'Debezium envelope needs "op" and "source"' };
  if (opCode === 't' || opCode === 'm') return { kind: 'skip', reason: `Debezium ${opCode === 't' ? 'truncate' : 'message'} event names no row` };
  const op = debeziumOps[opCode];
  if (op === undefined) return { kind: 'error', reason: `Debezium op must be c, r, u or d, got ${JSON.stringify(opCode)}` };
  const table = source['table'];
  if (typeof table !== 'string' || table === '') return { kind: 'error', reason: 'Debezium envelope has no source.table' };
  const before = payload['before'] ?? null;
  const after = payload['after'] ?? null;
  if ((before !== null && !isPlainObject(before)) || (after !== null && !isPlainObject(after))) {
    return { kind: 'error', reason: 'Debezium "before"/"after" must be objects or null' };
  }
  if (op !== 'DELETE' && after === null) return { kind: 'error', reason: `Debezium ${opCode} event has no "after" row` };
  const txId = source['txId'];
  const tsMs = typeof source['ts_ms'] === 'number' ? source['ts_ms'] : typeof payload['ts_ms'] === 'number' ? payload['ts_ms'] : 0;
  return {
    kind: 'event',
    event: {
      table,
      schema: typeof source['schema'] === 'string' && source['schema'] !== '' ? source['schema'] : null,
      op,
      // A delete's row is the row as it was, so filters on a deleted row's columns still work.
      row: op === 'DELETE' ? before : after,
      old: before,
      commitTs: tsMs,
      txId: txId === undefined || txId === null ? null : String(txId),
      context: null,
      triggerDepth: headerDepth ?? 0,
      format: 'debezium',
    },
  };
}
