import type { DatabaseRole, RlsContext } from '../auth/index.js';
import type { DatabaseOperation } from '../registry/index.js';
import type { ChangeEvent, DecodeResult } from './change-event.js';

const operations: readonly DatabaseOperation[] = ['INSERT', 'UPDATE', 'DELETE'];
const roles: readonly DatabaseRole[] = ['anon', 'authenticated', 'service_role'];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An AeroDB change event `{table, schema?, op, row, old?, commitTs, txId?, context?, triggerDepth?}`. */
export function decodeAeroEvent(value: Record<string, unknown>, headerDepth: number | null): DecodeResult {
  const { table, op } = value;
  if (typeof table !== 'string' || table === '') return { kind: 'error', reason: 'change event has no "table" string' };
  if (typeof op !== 'string' || !(operations as string[]).includes(op.toUpperCase())) {
    return { kind: 'error', reason: `change event "op" must be INSERT, UPDATE or DELETE, got ${JSON.stringify(op)}` };
  }
  const row = value['row'] ?? null;
  const old = value['old'] ?? null;
  if (row !== null && !isPlainObject(row)) return { kind: 'error', reason: 'change event "row" must be an object or null' };
  if (old !== null && !isPlainObject(old)) return { kind: 'error', reason: 'change event "old" must be an object or null' };
  const context = decodeContext(value['context']);
  if (context === 'invalid') return { kind: 'error', reason: 'change event "context" must be {role: anon|authenticated|service_role, sub, claims}' };
  const depth = decodeDepth(value['triggerDepth'], headerDepth);
  if (depth === 'invalid') return { kind: 'error', reason: 'change event "triggerDepth" must be a whole number ≥ 0' };
  const event: ChangeEvent = {
    table,
    schema: typeof value['schema'] === 'string' ? value['schema'] : null,
    op: op.toUpperCase() as DatabaseOperation,
    // A delete names the row as it was, like Debezium's, so filters and payloads read one field.
    row: row === null && op.toUpperCase() === 'DELETE' ? old : row,
    old,
    commitTs: decodeTime(value['commitTs']),
    txId: value['txId'] === undefined || value['txId'] === null ? null : String(value['txId']),
    context,
    triggerDepth: depth,
    format: 'aerodb',
  };
  return { kind: 'event', event };
}

function decodeContext(raw: unknown): RlsContext | null | 'invalid' {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) return 'invalid';
  const role = raw['role'];
  if (typeof role !== 'string' || !(roles as string[]).includes(role)) return 'invalid';
  const sub = raw['sub'];
  const claims = raw['claims'] ?? { role };
  if (!isPlainObject(claims)) return 'invalid';
  return { role: role as DatabaseRole, sub: typeof sub === 'string' ? sub : null, claims };
}

export function decodeDepth(raw: unknown, headerDepth: number | null): number | 'invalid' {
  if (raw === undefined || raw === null) return headerDepth ?? 0;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) return 'invalid';
  return Math.max(raw, headerDepth ?? 0);
}

function decodeTime(raw: unknown): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string') {
    const parsed = Date.parse(raw);
    if (!Number.isNaN(parsed)) return parsed;
  }
  return 0;
}
