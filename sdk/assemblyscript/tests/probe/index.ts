// Test-only entry (test/unit/sdk compiles it at test time): exposes every SDK call so the tests can
// drive the SDK's encoding from JavaScript. Input: {"op": …, …}; output depends on op.
import { input, output, log, db, http, env, context, Value, parse, tryParse, stringify, quote } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  const req = input.json(ptr, len);
  const op = req.getString("op", "")!;
  if (op == "roundtrip") {
    // Re-parse the serialized value too: stringify(parse(x)) must be a fixed point.
    const v = req.get("value");
    const text = stringify(v == null ? Value.null() : v);
    return output.raw(stringify(parse(text)));
  }
  if (op == "validate") {
    return output.json(Value.object().set<bool>("valid", tryParse(req.getString("text", "")!) != null));
  }
  if (op == "parse") {
    return output.raw(stringify(parse(req.getString("text", "")!)));
  }
  if (op == "quote") {
    return output.raw(quote(req.getString("text", "")!));
  }
  if (op == "integers") {
    const v = req.get("value")!;
    return output.json(Value.object().set<string>("asInteger", v.asInteger().toString()).set<f64>("asNumber", v.asNumber()));
  }
  if (op == "build") {
    const list: string[] = ["a", "b"];
    const nums: f64[] = [1.5, -2, 0];
    return output.json(
      Value.object()
        .set<string>("s", "x\"y")
        .set<i32>("i", -7)
        .set<i64>("big", 9007199254740993)
        .set<f64>("f", 0.25)
        .set<f64>("whole", 3.0)
        .set<f64>("nan", NaN)
        .set<bool>("t", true)
        .set<string | null>("n", null)
        .set<string[]>("list", list)
        .set<f64[]>("nums", nums)
        .set<Value>("nested", Value.array().push<i32>(1).push<Value>(Value.object()))
        .set<string>("s", "replaced"),
    );
  }
  if (op == "log") {
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e \u00e9");
    return output.nothing();
  }
  if (op == "query") {
    const params = req.get("params");
    const result = db.query(req.getString("sql", "")!, params == null ? [] : params.asArray());
    return output.json(
      Value.object()
        .set<bool>("ok", result.ok)
        .set<Value>("rows", Value.from<Value[]>(result.rows))
        .set<i32>("rowCount", result.rowCount)
        .set<string>("errorMessage", result.errorMessage),
    );
  }
  if (op == "exec") {
    db.exec(req.getString("sql", "")!, []);
    return output.nothing();
  }
  if (op == "fetch") {
    const r = http.fetch(req.getString("url", "")!, req.getString("method", "GET")!, req.get("headers"), req.getString("body"));
    return output.json(
      Value.object()
        .set<bool>("ok", r.ok)
        .set<i32>("status", r.status)
        .set<Value>("headers", r.headers)
        .set<string>("body", r.body)
        .set<string>("errorMessage", r.errorMessage),
    );
  }
  if (op == "env") {
    return output.json(Value.object().set<string | null>("value", env.get(req.getString("key", "")!)));
  }
  if (op == "context") {
    const a = context();
    const b = context();
    return output.json(
      Value.object()
        .set<string>("invocationId", a.invocationId)
        .set<string>("function", a.functionName)
        .set<i32>("version", a.version)
        .set<string>("trigger", a.trigger)
        .set<string>("role", a.role)
        .set<string | null>("sub", a.sub)
        .set<Value>("claims", a.claims)
        .set<i32>("attempt", a.attempt)
        .set<i64>("now", a.now)
        .set<bool>("cached", a == b),
    );
  }
  throw new Error("unknown op " + op);
}
