import type { FilterPredicate } from '../registry/index.js';

/**
 * Lambda-filter-like predicates (DESIGN §4.1): every predicate must hold. A column may be a dotted
 * path into nested objects (`address.city`). Missing columns fail every test but `exists: false`.
 */
export function matchesFilter(filter: readonly FilterPredicate[] | undefined, row: Readonly<Record<string, unknown>> | null): boolean {
  if (filter === undefined || filter.length === 0) return true;
  return filter.every((predicate) => matchesPredicate(predicate, row));
}

export function matchesPredicate(predicate: FilterPredicate, row: Readonly<Record<string, unknown>> | null): boolean {
  const [present, value] = columnValue(row, predicate.column);
  if ('exists' in predicate) return present === predicate.exists;
  if (!present) return false;
  if ('equals' in predicate) return sameValue(value, predicate.equals);
  if ('in' in predicate) return predicate.in.some((candidate) => sameValue(value, candidate));
  if ('anythingBut' in predicate) return !predicate.anythingBut.some((candidate) => sameValue(value, candidate));
  if ('prefix' in predicate) return typeof value === 'string' && value.startsWith(predicate.prefix);
  if ('suffix' in predicate) return typeof value === 'string' && value.endsWith(predicate.suffix);
  if ('numeric' in predicate) return compareNumeric(value, predicate.numeric[0], predicate.numeric[1]);
  return false;
}

function columnValue(row: Readonly<Record<string, unknown>> | null, column: string): [boolean, unknown] {
  let current: unknown = row;
  for (const part of column.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return [false, undefined];
    current = (current as Record<string, unknown>)[part];
  }
  return [true, current];
}

function sameValue(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  // Postgres numerics and bigints often arrive as strings; compare them as numbers.
  if (typeof expected === 'number' && typeof actual === 'string' && actual.trim() !== '') return Number(actual) === expected;
  if (actual !== null && expected !== null && typeof actual === 'object' && typeof expected === 'object') {
    return JSON.stringify(actual) === JSON.stringify(expected);
  }
  return false;
}

function compareNumeric(actual: unknown, op: '<' | '<=' | '=' | '>=' | '>', bound: number): boolean {
  const value = typeof actual === 'number' ? actual : typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : Number.NaN;
  if (Number.isNaN(value)) return false;
  switch (op) {
    case '<': return value < bound;
    case '<=': return value <= bound;
    case '=': return value === bound;
    case '>=': return value >= bound;
    case '>': return value > bound;
  }
}
