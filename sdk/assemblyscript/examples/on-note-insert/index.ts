// Database trigger on notes INSERT: logs the new row and writes an audit row. The payload is
// {table, op, row, old?}; the statement runs with the writer's RLS context from the change event.
import { input, output, log, context, db, Value } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  const event = input.json(ptr, len);
  const table = event.getString("table", "?")!;
  const op = event.getString("op", "?")!;
  const row = event.get("row");
  if (row == null || !row.isObject) {
    log.warn("change event without a row on " + table + " " + op);
    return output.json(Value.object().set<bool>("audited", false));
  }
  const noteId = row.get("id");
  // int8 columns arrive as strings (exact past 2^53), other ids as numbers.
  const idText = noteId == null ? "?" : noteId.isString ? noteId.asString() : noteId.toString();
  log.info(op + " on " + table + ": note " + idText);
  const ctx = context();
  const audit = db.exec(
    "insert into notes_audit (note_id, op, actor, row) values ($1, $2, $3::uuid, $4::jsonb) returning id",
    [noteId == null ? Value.null() : noteId, Value.string(op), Value.from<string | null>(ctx.sub), Value.string(row.toString())],
  );
  const auditId = audit.rows.length > 0 ? audit.rows[0].get("id") : null;
  return output.json(
    Value.object()
      .set<bool>("audited", true)
      .set<Value>("auditId", auditId == null ? Value.null() : auditId)
      .set<Value>("noteId", noteId == null ? Value.null() : noteId),
  );
}
