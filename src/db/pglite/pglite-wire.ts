import { protocol, types, type PGlite } from '@electric-sql/pglite';
import type { Row } from '../database.js';
import { normalizeValue } from '../values.js';

/*
 * The two ends of a db_query exchange with PGlite that run on every call, written for the one
 * shape we send and the one result we keep. PGlite's general serializer grows a DataView per
 * message and copies each part again to join them, and `parse.parseResults` parses every result
 * of the exchange (the session setup's row too) into objects; together they were ~30 of the
 * ~57 µs of JavaScript around PGlite's own ~98 µs per statement (bench/db-query, the Node loop).
 */

const { serialize } = protocol;

/** Describe the unnamed portal, then Execute it with no row limit: the same bytes on every call. */
export const describeAndExecute: Uint8Array = (() => {
  const describe = serialize.describe({ type: 'P' });
  const execute = serialize.execute({});
  const out = new Uint8Array(describe.length + execute.length);
  out.set(describe, 0);
  out.set(execute, describe.length);
  return out;
})();

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

function room(needed: number): void {
  if (scratch.length >= needed) return;
  let size = scratch.length;
  while (size < needed) size *= 2;
  scratch = new Uint8Array(size);
}

/**
 * A Bind of named statement `statement` to the unnamed portal with text parameters (`null` is SQL
 * NULL) and text results: byte for byte what `protocol.serialize.bind({ statement, values })`
 * writes (a unit test holds it to that). UTF-8 takes at most 3 bytes per UTF-16 code unit.
 */
export function bindMessage(statement: string, values: readonly (string | null)[]): Uint8Array {
  let bound = 1 + 4 + 1 + statement.length * 3 + 1 + 2 + values.length * 2 + 2 + 2;
  for (const value of values) bound += 4 + (value === null ? 0 : value.length * 3);
  room(bound);
  const out = scratch;
  const view = new DataView(out.buffer);
  out[0] = 0x42; // 'B'
  let at = 5;
  out[at++] = 0; // the unnamed portal
  at += encoder.encodeInto(statement, out.subarray(at)).written;
  out[at++] = 0;
  view.setUint16(at, values.length);
  at += 2;
  for (let i = 0; i < values.length; i++, at += 2) view.setInt16(at, 0); // every parameter as text
  view.setUint16(at, values.length);
  at += 2;
  for (const value of values) {
    if (value === null) {
      view.setInt32(at, -1);
      at += 4;
      continue;
    }
    const written = encoder.encodeInto(value, out.subarray(at + 4)).written;
    view.setInt32(at, written);
    at += 4 + written;
  }
  view.setInt16(at, 0); // every result column as text
  at += 2;
  view.setInt32(1, at - 1);
  return out.slice(0, at);
}

interface FieldMessage {
  readonly name: string;
  readonly dataTypeID: number;
}
type BackendMessage =
  | { readonly name: 'rowDescription'; readonly fields: readonly FieldMessage[] }
  | { readonly name: 'dataRow'; readonly fields: readonly (string | null)[] }
  | { readonly name: 'commandComplete'; readonly text: string }
  | { readonly name: string };

/** Commands whose tag's count `parseResults` adds to affectedRows. */
const counted = new Set(['INSERT', 'UPDATE', 'DELETE', 'COPY', 'MERGE']);

/**
 * The last result of an exchange (the guest statement's: the setup's comes first), as
 * `normalizeRows(parse.parseResults(messages, db.parsers).at(-1).rows)` and its affectedRows give
 * it — the same type parsers, then the same normalisation, one object per row (a later column of
 * the same name wins) — without parsing the results before it. A unit test holds it to that.
 */
export function lastResult(db: Pick<PGlite, 'parsers'>, messages: readonly unknown[]): { rows: Row[]; affectedRows: number } {
  let complete = -1;
  let affectedRows = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as BackendMessage;
    if (message.name !== 'commandComplete') continue;
    complete = i;
    const words = (message as { text: string }).text.split(' ');
    if (counted.has(words[0] as string)) affectedRows += parseInt(words[words.length - 1] as string, 10);
  }
  const rows: Row[] = [];
  if (complete < 0) return { rows, affectedRows };
  // parseResults starts a fresh result after each CommandComplete: the last one's rows are the
  // data rows between the CommandComplete before it and it, described by the last RowDescription.
  let start = complete;
  while (start > 0 && (messages[start - 1] as BackendMessage).name !== 'commandComplete') start--;
  let fields: readonly FieldMessage[] = [];
  for (let i = start; i < complete; i++) {
    const message = messages[i] as BackendMessage;
    if (message.name === 'rowDescription') fields = (message as { fields: readonly FieldMessage[] }).fields;
    else if (message.name === 'dataRow') {
      const values = (message as { fields: readonly (string | null)[] }).fields;
      const row: Row = {};
      for (let c = 0; c < values.length; c++) {
        const field = fields[c] as FieldMessage;
        row[field.name] = normalizeValue(types.parseType(values[c] as string, field.dataTypeID, db.parsers));
      }
      rows.push(row);
    }
  }
  return { rows, affectedRows };
}
