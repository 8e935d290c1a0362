import { DatabaseError } from './database.js';

/** `name` or `schema.name`, each part a plain or "quoted" identifier, quoted for SQL. */
export function qualifiedTable(table: string): { schema: string; name: string; sql: string } {
  const parts = splitIdentifier(table);
  if (parts.length === 0 || parts.length > 2) {
    throw new DatabaseError(`"${table}" is not a table name; use table or schema.table`, '42602');
  }
  const schema = parts.length === 2 ? (parts[0] as string) : 'public';
  const name = parts[parts.length - 1] as string;
  return { schema, name, sql: `${quoteIdent(schema)}.${quoteIdent(name)}` };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function splitIdentifier(text: string): string[] {
  const parts: string[] = [];
  const pattern = /\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(\.|$)/y;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (match === null) return [];
    parts.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] as string).toLowerCase());
    index = pattern.lastIndex;
    if (match[3] === '') break;
  }
  return parts;
}

export function enableCaptureSql(table: string): string {
  const { sql } = qualifiedTable(table);
  return `create or replace trigger aerofn_capture after insert or update or delete on ${sql}
    for each row execute function aerofn.capture_change();`;
}

export function disableCaptureSql(table: string): string {
  const { sql } = qualifiedTable(table);
  return `drop trigger if exists aerofn_capture on ${sql};`;
}
