// A minimal host for guest ABI v1 (DESIGN §4.2), written from the spec rather than from the SDK so
// that the SDK's encoding is tested against the contract: responses go into guest memory through
// the guest's `alloc` and come back packed `(ptr << 32) | len`, 0 for null.

export interface HostAnswers {
  /** Request JSON text → response JSON text. */
  db_query?: (request: string) => string | null;
  http_fetch?: (request: string) => string | null;
  env?: (key: string) => string | null;
  context?: () => string | null;
}

export interface HostCall {
  readonly fn: 'log' | 'db_query' | 'http_fetch' | 'env' | 'context';
  readonly request: string;
  readonly response: string | null;
  readonly level?: number;
}

export interface GuestRun {
  /** The handler's result as text; null when it returned 0. */
  readonly output: string | null;
  readonly calls: readonly HostCall[];
}

interface GuestExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  alloc(size: number): number;
  handler(ptr: number, len: number): bigint;
}

export class GuestAbort extends Error {}

// The slice of the WebAssembly JS API these tests use, typed here: the project's lib (ES2023, no
// DOM) does not declare it, and these tests should not depend on another domain's declarations.
export interface WasmModule { readonly __brand: 'WebAssembly.Module' }
interface Descriptor { readonly module?: string; readonly name: string; readonly kind: string }
interface WasmApi {
  Module: { new (bytes: Uint8Array): WasmModule; imports(m: WasmModule): Descriptor[]; exports(m: WasmModule): Descriptor[] };
  Instance: new (m: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Instantiates `module` fresh (as the sandbox does for every invocation) and calls its handler once. */
export function runGuest(module: WasmModule, input: string | Uint8Array, answers: HostAnswers = {}): GuestRun {
  let guest: GuestExports | undefined = undefined;
  const calls: HostCall[] = [];
  const exportsOf = (): GuestExports => {
    if (guest === undefined) throw new Error('host call before instantiation finished');
    return guest;
  };
  const read = (ptr: number, len: number): string => decoder.decode(new Uint8Array(exportsOf().memory.buffer, ptr >>> 0, len >>> 0));
  const write = (text: string | null): bigint => {
    if (text === null) return 0n;
    const bytes = encoder.encode(text);
    const ptr = exportsOf().alloc(bytes.length);
    new Uint8Array(exportsOf().memory.buffer).set(bytes, ptr);
    return (BigInt(ptr >>> 0) << 32n) | BigInt(bytes.length);
  };
  // AssemblyScript strings: UTF-16LE with the byte length in the u32 before the pointer.
  const readAsString = (ptr: number): string => {
    if (ptr === 0) return '';
    const buffer = exportsOf().memory.buffer;
    const byteLength = new DataView(buffer).getUint32(ptr - 4, true);
    return Buffer.from(buffer, ptr, byteLength).toString('utf16le');
  };
  const call = (fn: HostCall['fn'], request: string, answer: ((r: string) => string | null) | undefined): bigint => {
    if (answer === undefined) throw new Error(`guest called ${fn}, which this test does not answer`);
    const response = answer(request);
    calls.push({ fn, request, response });
    return write(response);
  };
  const imports = {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        throw new GuestAbort(`${readAsString(message)} at ${readAsString(file)}:${line}:${column}`);
      },
    },
    aerodb: {
      log(level: number, ptr: number, len: number): void {
        calls.push({ fn: 'log', level, request: read(ptr, len), response: null });
      },
      db_query: (ptr: number, len: number): bigint => call('db_query', read(ptr, len), answers.db_query),
      http_fetch: (ptr: number, len: number): bigint => call('http_fetch', read(ptr, len), answers.http_fetch),
      env: (ptr: number, len: number): bigint => call('env', read(ptr, len), answers.env),
      context: (): bigint => call('context', '', answers.context && (() => answers.context!())),
    },
  };
  const instance = new wasm.Instance(module, imports);
  guest = instance.exports as unknown as GuestExports;
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const ptr = guest.alloc(bytes.length);
  new Uint8Array(guest.memory.buffer).set(bytes, ptr);
  const packed = BigInt.asUintN(64, guest.handler(ptr, bytes.length));
  const output = packed === 0n ? null : read(Number(packed >> 32n), Number(packed & 0xffffffffn));
  return { output, calls };
}
