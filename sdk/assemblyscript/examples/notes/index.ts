// Notes under row-level security: every statement runs as the caller (role and sub from the JWT),
// so the policies in schema.sql decide what each user sees. {"body":"…"} adds a note for the
// caller; any input answers with the caller's notes, newest last.
import { input, output, log, context, db, Value } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  const ctx = context();
  if (ctx.sub == null) {
    // auth.uid() would be null: the insert policy would refuse it anyway, say why up front.
    return output.json(Value.object().set<string>("error", "sign in first: call with a user's JWT (Authorization: Bearer …)"));
  }
  const body = len > 0 ? input.json(ptr, len) : Value.object();
  const text = body.getString("body");
  const result = Value.object();
  if (text != null) {
    // No owner in the statement: the column defaults to auth.uid(), and the policy checks it.
    const inserted = db.exec("insert into notes (body) values ($1) returning id, owner, body, created_at", [Value.string(text)]);
    result.set<Value>("inserted", inserted.rows[0]);
    log.info("note added for " + ctx.sub!);
  }
  // No WHERE clause: row-level security limits the rows to the caller's own.
  const mine = db.exec("select id, body, created_at from notes order by id", []);
  const notes = Value.array();
  for (let i = 0; i < mine.rows.length; i++) notes.push<Value>(mine.rows[i]);
  result.set<string>("owner", ctx.sub!);
  result.set<Value>("notes", notes);
  result.set<i32>("count", mine.rowCount);
  return output.json(result);
}
