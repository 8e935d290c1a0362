import type { Logger } from '../observability/index.js';
import type { Trigger } from '../registry/index.js';
import { qualifiedTable } from './change-capture.js';
import type { Database } from './database.js';

/** What capture needs to know of a deployed function. */
export interface CaptureSource {
  readonly name: string;
  readonly enabled: boolean;
  readonly triggers: readonly Trigger[];
}

export interface CaptureSyncResult {
  readonly enabled: string[];
  readonly disabled: string[];
  /** Tables that could not be captured yet (usually: not created yet); tried again on the next sync. */
  readonly failed: string[];
}

export interface CaptureSync {
  /** Makes the set of captured tables match the database triggers of the enabled functions. */
  sync(functions: Iterable<CaptureSource>): Promise<CaptureSyncResult>;
}

/**
 * Keeps change capture in step with the registry (issue 3, item 7): a table is captured while an
 * enabled function has a database trigger on it, and released when none has. Calls are serialized.
 */
export function createCaptureSync(options: { database: Database; logger: Logger }): CaptureSync {
  const { database, logger } = options;
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (functions: Iterable<CaptureSource>): Promise<CaptureSyncResult> => {
    const wanted = new Map<string, Table>();
    for (const fn of functions) {
      if (!fn.enabled) continue;
      for (const trigger of fn.triggers) {
        if (trigger.type !== 'database') continue;
        try {
          const { schema, name } = qualifiedTable(trigger.table);
          wanted.set(keyOf({ schema, name }), { schema, name });
        } catch (error) {
          logger.warn({ function: fn.name, table: trigger.table, err: error }, 'database trigger names no table; nothing captured for it');
        }
      }
    }
    const { rows } = await database.admin(
      "select n.nspname as schema, c.relname as name from pg_trigger t join pg_class c on c.oid = t.tgrelid " +
        "join pg_namespace n on n.oid = c.relnamespace where t.tgname = 'aerofn_capture' and not t.tgisinternal",
    );
    const present = new Map<string, Table>();
    for (const row of rows) {
      const table = { schema: String(row['schema']), name: String(row['name']) };
      present.set(keyOf(table), table);
    }
    const result: CaptureSyncResult = { enabled: [], disabled: [], failed: [] };
    for (const [key, table] of wanted) {
      if (present.has(key)) continue;
      try {
        await database.enableChangeCapture(quoted(table));
        result.enabled.push(key);
      } catch (error) {
        result.failed.push(key);
        logger.warn({ table: key, err: error }, 'cannot capture changes of this table yet (create it first); retrying at the next deploy');
      }
    }
    for (const [key, table] of present) {
      if (wanted.has(key)) continue;
      await database.disableChangeCapture(quoted(table));
      result.disabled.push(key);
    }
    if (result.enabled.length + result.disabled.length > 0) logger.info(result, 'change capture updated');
    return result;
  };

  return {
    sync(functions) {
      const list = [...functions];
      const next = queue.then(() => run(list));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

interface Table {
  readonly schema: string;
  readonly name: string;
}

const keyOf = (table: Table): string => `${table.schema}.${table.name}`;
const quoted = (table: Table): string => `"${table.schema.replace(/"/g, '""')}"."${table.name.replace(/"/g, '""')}"`;
