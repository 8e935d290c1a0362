// The SDK over the host imports: log, db, http, env and context.
import { callContext, callDbQuery, callEnv, callHttpFetch, callLog } from "./abi";
import { Value, parse, stringify } from "./json";

export namespace log {
  export function debug(message: string): void { callLog(0, message); }
  export function info(message: string): void { callLog(1, message); }
  export function warn(message: string): void { callLog(2, message); }
  export function error(message: string): void { callLog(3, message); }
}

/** `{"error":{…}}` answers from the host, as a short text for messages. */
function errorText(error: Value): string {
  const message = error.getString("message");
  const code = error.getString("code");
  if (message == null) return stringify(error);
  return code == null ? message : code + ": " + message;
}

export class QueryResult {
  rows: Array<Value> = [];
  rowCount: i32 = 0;
  /** The host's `error` object when the statement failed or was refused; null on success. */
  error: Value | null = null;

  get ok(): bool { return this.error == null; }

  /** The error as text ("code: message"), or "" on success. */
  get errorMessage(): string {
    const e = this.error;
    return e == null ? "" : errorText(e);
  }
}

export namespace db {
  /**
   * Runs one statement with bound parameters ($1, $2, …) as the invocation's role (RLS applies).
   * A failed statement comes back with `error` set; abort afterwards to fail the invocation as a
   * HostFunctionError.
   */
  export function query(sql: string, params: Array<Value> = []): QueryResult {
    const list = Value.array();
    for (let i = 0; i < params.length; i++) list.push<Value>(params[i]);
    const request = Value.object().set<string>("sql", sql).set<Value>("params", list);
    const answer = callDbQuery(stringify(request));
    const result = new QueryResult();
    if (answer == null) {
      result.error = Value.object().set<string>("message", "db_query answered nothing");
      return result;
    }
    const v = parse(answer);
    const error = v.get("error");
    if (error != null) {
      result.error = error;
      return result;
    }
    const rows = v.get("rows");
    if (rows != null && rows.isArray) result.rows = rows.asArray();
    result.rowCount = <i32>v.getInteger("rowCount", result.rows.length);
    return result;
  }

  /** Like `query` but aborts with the host's message when the statement fails. */
  export function exec(sql: string, params: Array<Value> = []): QueryResult {
    const result = query(sql, params);
    if (!result.ok) throw new Error("db.query failed: " + result.errorMessage);
    return result;
  }
}

export class FetchResponse {
  status: i32 = 0;
  headers: Value = Value.object();
  body: string = "";
  /** The host's `error` object when the request was refused or failed; null otherwise. */
  error: Value | null = null;

  get ok(): bool { return this.error == null && this.status >= 200 && this.status < 300; }

  get errorMessage(): string {
    const e = this.error;
    return e == null ? "" : errorText(e);
  }

  /** The body parsed as JSON. */
  json(): Value { return parse(this.body); }
}

export namespace http {
  /** An HTTP request to a host on the function's `allowedHosts`; headers is an object of strings. */
  export function fetch(url: string, method: string = "GET", headers: Value | null = null, body: string | null = null): FetchResponse {
    const request = Value.object()
      .set<string>("url", url)
      .set<string>("method", method)
      .set<Value>("headers", headers == null ? Value.object() : headers)
      .set<string | null>("body", body);
    const answer = callHttpFetch(stringify(request));
    const response = new FetchResponse();
    if (answer == null) {
      response.error = Value.object().set<string>("message", "http_fetch answered nothing");
      return response;
    }
    const v = parse(answer);
    const error = v.get("error");
    if (error != null) {
      response.error = error;
      return response;
    }
    response.status = <i32>v.getInteger("status", 0);
    const h = v.get("headers");
    if (h != null && h.isObject) response.headers = h;
    const b = v.getString("body", "");
    response.body = b == null ? "" : b;
    return response;
  }
}

export namespace env {
  /** The value of `key` when it is set and on the function's `allowedEnv`; null otherwise. */
  export function get(key: string): string | null {
    return callEnv(key);
  }
}

/** DESIGN §4.2 `context()`: who and what this invocation is. */
export class Context {
  invocationId: string = "";
  functionName: string = "";
  version: i32 = 0;
  trigger: string = "";
  role: string = "";
  /** The caller's `sub` claim (user id); null for anonymous callers and the service role. */
  sub: string | null = null;
  claims: Value = Value.object();
  attempt: i32 = 1;
  /** Host time in epoch ms; the same on replay. */
  now: i64 = 0;
  /** The whole object as the host sent it. */
  raw: Value = Value.object();
}

let cachedContext: Context | null = null;

/** The invocation's context (asked of the host once, then cached: an instance serves one call). */
export function context(): Context {
  const cached = cachedContext;
  if (cached != null) return cached;
  const answer = callContext();
  const ctx = new Context();
  if (answer != null) {
    const v = parse(answer);
    ctx.raw = v;
    const id = v.getString("invocationId", "");
    ctx.invocationId = id == null ? "" : id;
    const fn = v.getString("function", "");
    ctx.functionName = fn == null ? "" : fn;
    ctx.version = <i32>v.getInteger("version", 0);
    const trigger = v.getString("trigger", "");
    ctx.trigger = trigger == null ? "" : trigger;
    const role = v.getString("role", "");
    ctx.role = role == null ? "" : role;
    ctx.sub = v.getString("sub", null);
    const claims = v.get("claims");
    if (claims != null && claims.isObject) ctx.claims = claims;
    ctx.attempt = <i32>v.getInteger("attempt", 1);
    ctx.now = v.getInteger("now", 0);
  }
  cachedContext = ctx;
  return ctx;
}
