// Reading the handler's input and writing its result (DESIGN §4.2: UTF-8 JSON in, packed UTF-8
// JSON out, 0 = null).
import { pack, packString, readString } from "./abi";
import { Value, parse, stringify } from "./json";

export namespace input {
  /** The input as text (UTF-8 decoded). */
  export function text(ptr: i32, len: i32): string {
    return readString(ptr, len);
  }

  /** The input bytes, copied out of guest memory. */
  export function bytes(ptr: i32, len: i32): Uint8Array {
    const out = new Uint8Array(len);
    memory.copy(out.dataStart, <usize>ptr, <usize>len);
    return out;
  }

  /** The input parsed as JSON (aborts with the offset of the error when it is not JSON). */
  export function json(ptr: i32, len: i32): Value {
    return parse(readString(ptr, len));
  }
}

export namespace output {
  /** Returns `value` serialized as the result. */
  export function json(value: Value): i64 {
    return packString(stringify(value));
  }

  /** Returns text that already is JSON, unchanged. */
  export function raw(jsonText: string): i64 {
    return packString(jsonText);
  }

  /** Returns bytes that already are UTF-8 JSON, unchanged. */
  export function bytes(data: Uint8Array): i64 {
    return pack(data.dataStart, data.byteLength);
  }

  /** Returns JSON `null` (the packed 0). */
  export function nothing(): i64 {
    return 0;
  }
}
