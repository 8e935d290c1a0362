import type { FilterPredicate, FunctionDefinition } from '../registry/index.js';
import type { ChangeEvent } from './change-event.js';
import { matchesFilter } from './filter.js';

interface Entry {
  readonly fn: FunctionDefinition;
  readonly schema: string | null;
  readonly filter: readonly FilterPredicate[] | undefined;
}

/** Which functions a change event triggers: a map on (table, operation), then the filters. */
export interface TriggerIndex {
  /** The matching functions, each once; the array may be shared between events: do not change it. */
  lookup(event: Pick<ChangeEvent, 'table' | 'schema' | 'op' | 'row' | 'old'>): readonly FunctionDefinition[];
  /** Tables with at least one trigger (for describe()). */
  tables(): string[];
  readonly size: number;
}

function splitTable(name: string): { schema: string | null; table: string } {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? { schema: null, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** The triggers of one (table, operation). */
interface Bucket {
  readonly entries: Entry[];
  /**
   * Set when no entry has a schema or a filter: the answer is the same for every event, so it is
   * built once (a Map and an array per event showed in the pipeline's allocation profile).
   */
  always: readonly FunctionDefinition[] | undefined;
}

const none: readonly FunctionDefinition[] = Object.freeze([]);

/**
 * Builds the index from the enabled functions' database triggers. It is immutable: when the
 * registry changes, build a new one (cheap: one pass over the definitions) and swap it in.
 * A trigger table may be `orders` (any schema) or `public.orders` (that schema only).
 */
export function createTriggerIndex(functions: Iterable<FunctionDefinition>): TriggerIndex {
  // table → operation → bucket: two lookups with the event's own strings, no key built per event.
  const map = new Map<string, Map<string, Bucket>>();
  let size = 0;
  for (const fn of functions) {
    if (!fn.enabled) continue;
    for (const trigger of fn.triggers) {
      if (trigger.type !== 'database') continue;
      const { schema, table } = splitTable(trigger.table);
      for (const op of new Set(trigger.operations)) {
        let ops = map.get(table);
        if (ops === undefined) map.set(table, (ops = new Map()));
        let bucket = ops.get(op);
        if (bucket === undefined) ops.set(op, (bucket = { entries: [], always: undefined }));
        bucket.entries.push({ fn, schema, filter: trigger.filter });
        size += 1;
      }
    }
  }
  const matching = (entries: readonly Entry[], schema: string | null, row: Readonly<Record<string, unknown>> | null): FunctionDefinition[] => {
    const matched: FunctionDefinition[] = [];
    for (const entry of entries) {
      if (entry.schema !== null && entry.schema !== schema) continue;
      if (!matchesFilter(entry.filter, row)) continue;
      // Two triggers of one function: invoke it once.
      if (!matched.some((fn) => fn.name === entry.fn.name)) matched.push(entry.fn);
    }
    return matched;
  };
  for (const ops of map.values()) {
    for (const bucket of ops.values()) {
      if (bucket.entries.every((entry) => entry.schema === null && (entry.filter === undefined || entry.filter.length === 0))) {
        bucket.always = Object.freeze(matching(bucket.entries, null, null));
      }
    }
  }
  return {
    size,
    tables: () => [...map.keys()].sort(),
    lookup(event) {
      const dotted = event.table.includes('.');
      const named = dotted ? splitTable(event.table) : undefined;
      const bucket = map.get(named === undefined ? event.table : named.table)?.get(event.op);
      if (bucket === undefined) return none;
      if (bucket.always !== undefined) return bucket.always;
      return matching(bucket.entries, event.schema ?? named?.schema ?? null, event.row ?? event.old);
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
