// Guest ABI v1 (DESIGN §4.2): the raw imports from module "aerodb", the `alloc` export the host
// writes responses through, and the packing of (ptr, len) pairs into one i64.

// @ts-ignore: decorator
@external("aerodb", "log")
declare function hostLog(level: i32, ptr: i32, len: i32): void;

// @ts-ignore: decorator
@external("aerodb", "db_query")
declare function hostDbQuery(ptr: i32, len: i32): i64;

// @ts-ignore: decorator
@external("aerodb", "http_fetch")
declare function hostHttpFetch(ptr: i32, len: i32): i64;

// @ts-ignore: decorator
@external("aerodb", "env")
declare function hostEnv(ptr: i32, len: i32): i64;

// @ts-ignore: decorator
@external("aerodb", "context")
declare function hostContext(): i64;

/**
 * The export the host calls to get guest memory for a response. Raw heap memory, not a managed
 * object: the SDK copies it into a string and frees it, so the garbage collector (if any) never
 * sees it.
 */
export function alloc(size: i32): i32 {
  if (size < 0) return 0;
  return <i32>heap.alloc(<usize>size);
}

/** `(ptr << 32) | len`; 0 means "null". */
export function pack(ptr: usize, len: i32): i64 {
  return (<i64>(<u32>ptr) << 32) | <i64>(<u32>len);
}

/** Copies UTF-8 bytes at ptr,len into a string. */
export function readString(ptr: i32, len: i32): string {
  return String.UTF8.decodeUnsafe(<usize>ptr, <usize>len);
}

/** Decodes a packed host response (written through `alloc`) and releases its memory; null for 0. */
export function takeResponse(packed: i64): string | null {
  if (packed == 0) return null;
  const ptr = <usize>(<u32>(packed >>> 32));
  const len = <usize>(<u32>packed);
  const s = String.UTF8.decodeUnsafe(ptr, len);
  heap.free(ptr);
  return s;
}

/** Packs a string as UTF-8 in guest memory: the handler's result. */
export function packString(s: string): i64 {
  const buf = String.UTF8.encode(s);
  return pack(changetype<usize>(buf), buf.byteLength);
}

export function callLog(level: i32, message: string): void {
  const buf = String.UTF8.encode(message);
  hostLog(level, <i32>changetype<usize>(buf), buf.byteLength);
}

export function callDbQuery(request: string): string | null {
  const buf = String.UTF8.encode(request);
  return takeResponse(hostDbQuery(<i32>changetype<usize>(buf), buf.byteLength));
}

export function callHttpFetch(request: string): string | null {
  const buf = String.UTF8.encode(request);
  return takeResponse(hostHttpFetch(<i32>changetype<usize>(buf), buf.byteLength));
}

export function callEnv(key: string): string | null {
  const buf = String.UTF8.encode(key);
  return takeResponse(hostEnv(<i32>changetype<usize>(buf), buf.byteLength));
}

export function callContext(): string | null {
  return takeResponse(hostContext());
}
