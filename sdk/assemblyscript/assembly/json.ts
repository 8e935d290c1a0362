// A small JSON value, parser and serializer. AssemblyScript has no JSON built in, and the ABI speaks
// JSON both ways, so the SDK carries its own. Values keep the original text of numbers so that ids
// larger than 2^53 survive a round trip unchanged.

export enum Kind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

const KIND_NAMES: string[] = ["null", "boolean", "number", "string", "array", "object"];

// Deeper nesting than this is refused instead of overflowing the guest's stack.
const MAX_DEPTH: i32 = 256;

/** One JSON value. Build with `Value.object()`, `Value.array()`, `Value.from(x)`; read with `get`, `at`, `as*`. */
export class Value {
  kind: Kind = Kind.Null;
  private b: bool = false;
  private n: f64 = 0;
  // Original (or canonical integer) text of a number; emitted as-is by stringify.
  private raw: string | null = null;
  private s: string = "";
  private items: Array<Value> = [];
  private names: Array<string> = [];

  static null(): Value {
    return new Value();
  }

  static bool(b: bool): Value {
    const v = new Value();
    v.kind = Kind.Bool;
    v.b = b;
    return v;
  }

  static number(n: f64): Value {
    const v = new Value();
    v.kind = Kind.Number;
    v.n = n;
    return v;
  }

  static integer(i: i64): Value {
    const v = new Value();
    v.kind = Kind.Number;
    v.n = <f64>i;
    v.raw = i.toString();
    return v;
  }

  /** A number from its JSON text (kept verbatim). */
  static numberText(text: string): Value {
    const v = new Value();
    v.kind = Kind.Number;
    v.n = parseFloat(text);
    v.raw = text;
    return v;
  }

  static string(s: string): Value {
    const v = new Value();
    v.kind = Kind.String;
    v.s = s;
    return v;
  }

  static array(): Value {
    const v = new Value();
    v.kind = Kind.Array;
    return v;
  }

  static object(): Value {
    const v = new Value();
    v.kind = Kind.Object;
    return v;
  }

  /** Wraps a string, bool, integer, float, Value, null or an array of those. */
  static from<T>(x: T): Value {
    if (isNullable<T>()) {
      if (x == null) return Value.null();
    }
    if (isString<T>()) {
      return Value.string(changetype<string>(x));
    } else if (isBoolean<T>()) {
      return Value.bool(<bool>x);
    } else if (isInteger<T>()) {
      return Value.integer(<i64>x);
    } else if (isFloat<T>()) {
      return Value.number(<f64>x);
    } else if (isArray<T>()) {
      const out = Value.array();
      // @ts-ignore: T is an array here
      for (let i = 0; i < x.length; i++) out.push(x[i]);
      return out;
    } else if (x instanceof Value) {
      return changetype<Value>(x);
    }
    ERROR("Value.from: use a string, bool, number, Value or an array of those");
    return Value.null();
  }

  get isNull(): bool { return this.kind == Kind.Null; }
  get isBool(): bool { return this.kind == Kind.Bool; }
  get isNumber(): bool { return this.kind == Kind.Number; }
  get isString(): bool { return this.kind == Kind.String; }
  get isArray(): bool { return this.kind == Kind.Array; }
  get isObject(): bool { return this.kind == Kind.Object; }
  get kindName(): string { return KIND_NAMES[<i32>this.kind]; }

  asBool(): bool {
    this.expect(Kind.Bool);
    return this.b;
  }

  asNumber(): f64 {
    this.expect(Kind.Number);
    return this.n;
  }

  /** The number as an i64; exact for integer text beyond 2^53. */
  asInteger(): i64 {
    this.expect(Kind.Number);
    const raw = this.raw;
    if (raw != null && isIntegerText(raw)) {
      if (!fitsI64(raw)) throw new Error("JSON number " + raw + " does not fit in an i64");
      return i64.parse(raw);
    }
    // Non-integer text (1.5, 1e3): truncate, but never wrap around silently.
    if (!(this.n > -9223372036854775808.0 && this.n < 9223372036854775808.0)) {
      throw new Error("JSON number " + numberText(this.n, raw) + " does not fit in an i64");
    }
    return <i64>this.n;
  }

  asString(): string {
    this.expect(Kind.String);
    return this.s;
  }

  /** Items of an array (the live list: pushing to it changes the value). */
  asArray(): Array<Value> {
    this.expect(Kind.Array);
    return this.items;
  }

  /** Number of array items or object members; 0 for scalars. */
  get length(): i32 {
    if (this.kind == Kind.Array) return this.items.length;
    if (this.kind == Kind.Object) return this.names.length;
    return 0;
  }

  at(index: i32): Value {
    this.expect(Kind.Array);
    if (index < 0 || index >= this.items.length) return Value.null();
    return this.items[index];
  }

  push<T>(x: T): Value {
    this.expect(Kind.Array);
    this.items.push(Value.from<T>(x));
    return this;
  }

  keys(): Array<string> {
    this.expect(Kind.Object);
    return this.names.slice(0);
  }

  has(key: string): bool {
    return this.kind == Kind.Object && this.names.indexOf(key) >= 0;
  }

  /** The member `key`, or null when this is not an object or has no such member. */
  get(key: string): Value | null {
    if (this.kind != Kind.Object) return null;
    const i = this.names.indexOf(key);
    return i < 0 ? null : this.items[i];
  }

  /** Sets (or replaces) the member `key`; returns this for chaining. */
  set<T>(key: string, x: T): Value {
    this.expect(Kind.Object);
    const v = Value.from<T>(x);
    const i = this.names.indexOf(key);
    if (i >= 0) {
      this.items[i] = v;
    } else {
      this.names.push(key);
      this.items.push(v);
    }
    return this;
  }

  /** The string member `key`, or `fallback` when missing or not a string. */
  getString(key: string, fallback: string | null = null): string | null {
    const v = this.get(key);
    return v != null && v.isString ? v.s : fallback;
  }

  getNumber(key: string, fallback: f64 = 0): f64 {
    const v = this.get(key);
    return v != null && v.isNumber ? v.n : fallback;
  }

  getInteger(key: string, fallback: i64 = 0): i64 {
    const v = this.get(key);
    return v != null && v.isNumber ? v.asInteger() : fallback;
  }

  getBool(key: string, fallback: bool = false): bool {
    const v = this.get(key);
    return v != null && v.isBool ? v.b : fallback;
  }

  toString(): string {
    return stringify(this);
  }

  private expect(kind: Kind): void {
    if (this.kind != kind) {
      throw new Error("JSON value is " + this.kindName + ", expected " + KIND_NAMES[<i32>kind]);
    }
  }

  /** @internal */
  write(out: Array<string>): void {
    switch (this.kind) {
      case Kind.Null: out.push("null"); break;
      case Kind.Bool: out.push(this.b ? "true" : "false"); break;
      case Kind.Number: out.push(numberText(this.n, this.raw)); break;
      case Kind.String: writeString(out, this.s); break;
      case Kind.Array: {
        out.push("[");
        for (let i = 0; i < this.items.length; i++) {
          if (i > 0) out.push(",");
          this.items[i].write(out);
        }
        out.push("]");
        break;
      }
      default: {
        out.push("{");
        for (let i = 0; i < this.names.length; i++) {
          if (i > 0) out.push(",");
          writeString(out, this.names[i]);
          out.push(":");
          this.items[i].write(out);
        }
        out.push("}");
      }
    }
  }
}

/** Serializes a value as compact JSON. */
export function stringify(v: Value): string {
  const out = new Array<string>();
  v.write(out);
  return out.join("");
}

/** A JSON string literal for `s`, quotes included. */
export function quote(s: string): string {
  const out = new Array<string>();
  writeString(out, s);
  return out.join("");
}

/** Parses JSON text; aborts (a RuntimePanic) with the offset of the first error. */
export function parse(text: string): Value {
  const p = new Parser(text);
  const v = p.document();
  if (v == null) throw new Error(p.error);
  return v;
}

/** Parses JSON text; null when it is not valid JSON. */
export function tryParse(text: string): Value | null {
  return new Parser(text).document();
}

function numberText(n: f64, raw: string | null): string {
  if (raw != null) return raw;
  if (!isFinite(n)) return "null";
  if (n == Math.trunc(n) && Math.abs(n) < 9007199254740992.0) return (<i64>n).toString();
  return n.toString();
}

function fitsI64(s: string): bool {
  const negative = s.charCodeAt(0) == 0x2d;
  const digits = negative ? s.substring(1) : s;
  const limit = negative ? "9223372036854775808" : "9223372036854775807";
  if (digits.length != limit.length) return digits.length < limit.length;
  return digits <= limit;
}

function isIntegerText(s: string): bool {
  const len = s.length;
  if (len == 0 || (len == 1 && s.charCodeAt(0) == 0x2d)) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (!(c >= 0x30 && c <= 0x39) && !(i == 0 && c == 0x2d)) return false;
  }
  return true;
}

const HEX = "0123456789abcdef";

function writeString(out: Array<string>, s: string): void {
  out.push("\"");
  let start = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    if (i > start) out.push(s.substring(start, i));
    start = i + 1;
    if (c == 0x22) out.push("\\\"");
    else if (c == 0x5c) out.push("\\\\");
    else if (c == 0x0a) out.push("\\n");
    else if (c == 0x0d) out.push("\\r");
    else if (c == 0x09) out.push("\\t");
    else if (c == 0x08) out.push("\\b");
    else if (c == 0x0c) out.push("\\f");
    else out.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
  }
  if (start < len) out.push(start == 0 ? s : s.substring(start));
  out.push("\"");
}

class Parser {
  i: i32 = 0;
  error: string = "";
  depth: i32 = 0;

  constructor(public s: string) {}

  document(): Value | null {
    const v = this.value();
    if (v == null) return null;
    this.skipSpace();
    if (this.i < this.s.length) return this.fail("unexpected text after the value");
    return v;
  }

  fail(what: string): Value | null {
    if (this.error.length == 0) this.error = "invalid JSON at offset " + this.i.toString() + ": " + what;
    return null;
  }

  skipSpace(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.i++;
    }
  }

  literal(word: string): bool {
    if (this.s.substr(this.i, word.length) != word) return false;
    this.i += word.length;
    return true;
  }

  value(): Value | null {
    this.skipSpace();
    if (this.i >= this.s.length) return this.fail("unexpected end of input");
    const c = this.s.charCodeAt(this.i);
    if (c == 0x7b) return this.object();
    if (c == 0x5b) return this.array();
    if (c == 0x22) {
      const str = this.string();
      return str == null ? null : Value.string(str);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) return Value.bool(true);
    if (this.literal("false")) return Value.bool(false);
    if (this.literal("null")) return Value.null();
    return this.fail("unexpected character");
  }

  enter(): bool {
    if (++this.depth > MAX_DEPTH) {
      this.fail("nested deeper than " + MAX_DEPTH.toString());
      return false;
    }
    return true;
  }

  object(): Value | null {
    if (!this.enter()) return null;
    this.i++; // {
    const obj = Value.object();
    this.skipSpace();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x7d) {
      this.i++;
      this.depth--;
      return obj;
    }
    while (true) {
      this.skipSpace();
      if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x22) return this.fail("expected a member name");
      const key = this.string();
      if (key == null) return null;
      this.skipSpace();
      if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x3a) return this.fail("expected ':'");
      this.i++;
      const v = this.value();
      if (v == null) return null;
      obj.set<Value>(key, v);
      this.skipSpace();
      if (this.i >= this.s.length) return this.fail("unexpected end of input in an object");
      const c = this.s.charCodeAt(this.i++);
      if (c == 0x7d) break;
      if (c != 0x2c) {
        this.i--;
        return this.fail("expected ',' or '}'");
      }
    }
    this.depth--;
    return obj;
  }

  array(): Value | null {
    if (!this.enter()) return null;
    this.i++; // [
    const arr = Value.array();
    this.skipSpace();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x5d) {
      this.i++;
      this.depth--;
      return arr;
    }
    while (true) {
      const v = this.value();
      if (v == null) return null;
      arr.asArray().push(v);
      this.skipSpace();
      if (this.i >= this.s.length) return this.fail("unexpected end of input in an array");
      const c = this.s.charCodeAt(this.i++);
      if (c == 0x5d) break;
      if (c != 0x2c) {
        this.i--;
        return this.fail("expected ',' or ']'");
      }
    }
    this.depth--;
    return arr;
  }

  number(): Value | null {
    const s = this.s;
    const start = this.i;
    if (s.charCodeAt(this.i) == 0x2d) this.i++;
    const intStart = this.i;
    while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
    const intLen = this.i - intStart;
    if (intLen == 0) return this.fail("expected a digit");
    if (intLen > 1 && s.charCodeAt(intStart) == 0x30) return this.fail("leading zero in a number");
    if (this.i < s.length && s.charCodeAt(this.i) == 0x2e) {
      this.i++;
      const f = this.i;
      while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i == f) return this.fail("expected a digit after '.'");
    }
    if (this.i < s.length && (s.charCodeAt(this.i) | 0x20) == 0x65) {
      this.i++;
      if (this.i < s.length && (s.charCodeAt(this.i) == 0x2b || s.charCodeAt(this.i) == 0x2d)) this.i++;
      const e = this.i;
      while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i == e) return this.fail("expected a digit in the exponent");
    }
    return Value.numberText(s.substring(start, this.i));
  }

  // Returns the decoded string with the cursor after its closing quote, or null on error.
  string(): string | null {
    const s = this.s;
    this.i++; // opening quote
    let start = this.i;
    let parts: Array<string> | null = null;
    while (true) {
      if (this.i >= s.length) {
        this.fail("unterminated string");
        return null;
      }
      const c = s.charCodeAt(this.i);
      if (c == 0x22) break;
      if (c < 0x20) {
        this.fail("control character in a string");
        return null;
      }
      if (c != 0x5c) {
        this.i++;
        continue;
      }
      if (parts == null) parts = new Array<string>();
      parts.push(s.substring(start, this.i));
      this.i++; // backslash
      if (this.i >= s.length) {
        this.fail("unterminated escape");
        return null;
      }
      const e = s.charCodeAt(this.i++);
      if (e == 0x22) parts.push("\"");
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        let code = 0;
        for (let k = 0; k < 4; k++) {
          const h = this.i < s.length ? hexValue(s.charCodeAt(this.i)) : -1;
          if (h < 0) {
            this.fail("bad \\u escape");
            return null;
          }
          code = (code << 4) | h;
          this.i++;
        }
        // UTF-16 code units pass through as they are, so surrogate pairs recombine by themselves.
        parts.push(String.fromCharCode(code));
      } else {
        this.i--;
        this.fail("unknown escape");
        return null;
      }
      start = this.i;
    }
    const tail = s.substring(start, this.i);
    this.i++; // closing quote
    if (parts == null) return tail;
    parts.push(tail);
    return parts.join("");
  }
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
