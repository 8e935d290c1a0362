import type { Row } from './database.js';

/**
 * Both adapters answer the same JSON: `pg` and PGlite disagree on int8 (string vs bigint), bytea
 * (Buffer vs Uint8Array) and dates; guests see strings for all three, as PostgREST does.
 */
export function normalizeValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) out[key] = normalizeValue(inner);
    return out;
  }
  return value;
}

export function normalizeRows(rows: readonly Record<string, unknown>[]): Row[] {
  return rows.map((row) => normalizeValue(row) as Row);
}

/** Parameters: bigint goes over as text; plain objects as JSON so jsonb columns take them; arrays stay arrays. */
export function normalizeParams(params: readonly unknown[]): unknown[] {
  return params.map((value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array)) {
      return JSON.stringify(value);
    }
    return value;
  });
}
