import type { DatabaseOperation, FilterPredicate, FunctionDefinition } from '../registry/index.js';
import type { ChangeEvent } from './change-event.js';
import { matchesFilter } from './filter.js';

interface Entry {
  readonly fn: FunctionDefinition;
  readonly schema: string | null;
  readonly filter: readonly FilterPredicate[] | undefined;
}

/** Which functions a change event triggers: a map on (table, operation), then the filters. */
export interface TriggerIndex {
  lookup(event: Pick<ChangeEvent, 'table' | 'schema' | 'op' | 'row' | 'old'>): FunctionDefinition[];
  /** Tables with at least one trigger (for describe()). */
  tables(): string[];
  readonly size: number;
}

function splitTable(name: string): { schema: string | null; table: string } {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? { schema: null, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

const keyOf = (table: string, op: DatabaseOperation): string => `${table}\u0000${op}`;

/**
 * Builds the index from the enabled functions' database triggers. It is immutable: when the
 * registry changes, build a new one (cheap: one pass over the definitions) and swap it in.
 * A trigger table may be `orders` (any schema) or `public.orders` (that schema only).
 */
export function createTriggerIndex(functions: Iterable<FunctionDefinition>): TriggerIndex {
  const map = new Map<string, Entry[]>();
  let size = 0;
  for (const fn of functions) {
    if (!fn.enabled) continue;
    for (const trigger of fn.triggers) {
      if (trigger.type !== 'database') continue;
      const { schema, table } = splitTable(trigger.table);
      for (const op of new Set(trigger.operations)) {
        const key = keyOf(table, op);
        const entries = map.get(key) ?? [];
        entries.push({ fn, schema, filter: trigger.filter });
        map.set(key, entries);
        size += 1;
      }
    }
  }
  return {
    size,
    tables: () => [...new Set([...map.keys()].map((key) => key.split('\u0000')[0] ?? ''))].sort(),
    lookup(event) {
      const named = splitTable(event.table);
      const table = named.table;
      const schema = event.schema ?? named.schema;
      const entries = map.get(keyOf(table, event.op));
      if (entries === undefined) return [];
      const row = event.row ?? event.old;
      const matched = new Map<string, FunctionDefinition>();
      for (const entry of entries) {
        if (matched.has(entry.fn.name)) continue; // two triggers of one function: invoke it once
        if (entry.schema !== null && entry.schema !== schema) continue;
        if (!matchesFilter(entry.filter, row)) continue;
        matched.set(entry.fn.name, entry.fn);
      }
      return [...matched.values()];
    },
  };
}

/**
 * The tables the enabled functions' database triggers name, as written (`orders` or
 * `public.orders`), sorted and without repeats: what change capture must cover. The composition
 * root can call `database.enableChangeCapture(table)` for each after a deploy.
 */
export function databaseTriggerTables(functions: Iterable<FunctionDefinition>): string[] {
  const tables = new Set<string>();
  for (const fn of functions) {
    if (!fn.enabled) continue;
    for (const trigger of fn.triggers) if (trigger.type === 'database') tables.add(trigger.table);
  }
  return [...tables].sort();
}
