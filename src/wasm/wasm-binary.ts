/**
 * A small reader for the parts of the WebAssembly binary format the sandbox must check before it
 * trusts a module: types, imports, functions, memories and exports. It also rewrites the memory
 * section, because a limit written into the module is enforced by V8 itself (memory.grow returns
 * -1) where a limit checked from JavaScript would be advisory.
 */

export const WASM_PAGE_BYTES = 65_536;

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface Limits {
  readonly flags: number;
  readonly initial: number;
  readonly maximum: number | undefined;
}

export type ImportDesc =
  | { readonly kind: 'function'; readonly type: FuncType }
  | { readonly kind: 'table' | 'global' | 'tag' }
  | { readonly kind: 'memory'; readonly limits: Limits };

export interface ImportEntry {
  readonly module: string;
  readonly name: string;
  readonly desc: ImportDesc;
}

export interface ExportEntry {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  readonly index: number;
}

export interface MemorySection {
  /** Byte offset of the section id in the binary. */
  readonly start: number;
  /** Byte offset just past the section's content. */
  readonly end: number;
  readonly memories: readonly Limits[];
}

export interface WasmStructure {
  readonly imports: readonly ImportEntry[];
  readonly exports: readonly ExportEntry[];
  /** Type of every function in the function index space (imports first). */
  readonly functionTypes: readonly FuncType[];
  readonly memorySection: MemorySection | undefined;
  /** Where every section starts and ends, in order (for rewriting). */
  readonly sections: readonly SectionSpan[];
}

export interface SectionSpan {
  readonly id: number;
  /** Byte offset of the section id. */
  readonly start: number;
  /** Byte offset of the section's content (after the size). */
  readonly contentStart: number;
  readonly end: number;
}

/** Thrown for bytes that are not a well-formed module; the message says where and what. */
export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}

const valTypes: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const exportKinds = ['function', 'table', 'memory', 'global', 'tag'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of data at byte ${this.pos}`);
    return this.bytes[this.pos++] as number;
  }

  peek(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of data at byte ${this.pos}`);
    return this.bytes[this.pos] as number;
  }

  skip(count: number): void {
    if (this.pos + count > this.end) throw new WasmFormatError(`unexpected end of data at byte ${this.pos}`);
    this.pos += count;
  }

  /** Passes over a LEB128 integer of at most `maxBytes` bytes (a signed 33-bit one: 5, 64-bit: 10). */
  skipLeb(maxBytes: number): void {
    for (let n = 0; n < maxBytes; n++) if ((this.byte() & 0x80) === 0) return;
    throw new WasmFormatError(`integer too long at byte ${this.pos}`);
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new WasmFormatError(`integer too long at byte ${this.pos}`);
    }
    if (result > 0xffffffff) throw new WasmFormatError(`integer out of range at byte ${this.pos}`);
    return result;
  }

  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new WasmFormatError(`name runs past its section at byte ${this.pos}`);
    const text = utf8.decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  valType(): ValType {
    const code = this.byte();
    const type = valTypes[code];
    if (type === undefined) throw new WasmFormatError(`unknown value type 0x${code.toString(16)} at byte ${this.pos - 1}`);
    return type;
  }

  limits(): Limits {
    const flags = this.byte();
    if (flags > 0x07) throw new WasmFormatError(`unknown limits flags 0x${flags.toString(16)} at byte ${this.pos - 1}`);
    // Memory64 (flag bit 2) encodes u64 limits; reading them as u32 is fine for the values we accept.
    const initial = this.u32();
    const maximum = (flags & 0x01) !== 0 ? this.u32() : undefined;
    return { flags, initial, maximum };
  }
}

/** Reads the sections the sandbox checks; the compiler (V8) validates everything else. */
export function readWasmStructure(bytes: Uint8Array): WasmStructure {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('it does not start with the WebAssembly magic bytes \\0asm');
  }
  if (bytes[4] !== 0x01 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new WasmFormatError('it is not WebAssembly binary format version 1 (a component or a text file?)');
  }
  const reader = new Reader(bytes, 8);
  const types: FuncType[] = [];
  const imports: ImportEntry[] = [];
  const exports: ExportEntry[] = [];
  const functionTypes: FuncType[] = [];
  let memorySection: MemorySection | undefined;
  const sections: SectionSpan[] = [];

  while (reader.pos < bytes.length) {
    const start = reader.pos;
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.pos + size;
    sections.push({ id, start, contentStart: reader.pos, end });
    if (end > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    const section = new Reader(bytes, reader.pos, end);
    switch (id) {
      case 1:
        for (let count = section.u32(); count > 0; count--) {
          const form = section.byte();
          if (form !== 0x60) throw new WasmFormatError(`type form 0x${form.toString(16)} (GC proposal) is not supported`);
          const params = readVec(section, () => section.valType());
          const results = readVec(section, () => section.valType());
          types.push({ params, results });
        }
        break;
      case 2:
        for (let count = section.u32(); count > 0; count--) {
          const module = section.name();
          const name = section.name();
          const kind = section.byte();
          let desc: ImportDesc;
          if (kind === 0x00) {
            const type = typeAt(types, section.u32());
            functionTypes.push(type);
            desc = { kind: 'function', type };
          } else if (kind === 0x01) {
            section.valType();
            section.limits();
            desc = { kind: 'table' };
          } else if (kind === 0x02) {
            desc = { kind: 'memory', limits: section.limits() };
          } else if (kind === 0x03) {
            section.valType();
            section.byte();
            desc = { kind: 'global' };
          } else if (kind === 0x04) {
            section.byte();
            section.u32();
            desc = { kind: 'tag' };
          } else {
            throw new WasmFormatError(`unknown import kind 0x${kind.toString(16)}`);
          }
          imports.push({ module, name, desc });
        }
        break;
      case 3:
        for (let count = section.u32(); count > 0; count--) functionTypes.push(typeAt(types, section.u32()));
        break;
      case 5:
        memorySection = { start, end, memories: readVec(section, () => section.limits()) };
        break;
      case 7:
        for (let count = section.u32(); count > 0; count--) {
          const name = section.name();
          const kind = exportKinds[section.byte()];
          if (kind === undefined) throw new WasmFormatError(`unknown export kind for "${name}"`);
          exports.push({ name, kind, index: section.u32() });
        }
        break;
      default:
        break;
    }
    reader.pos = end;
  }
  return { imports, exports, functionTypes, memorySection, sections };
}

function readVec<T>(reader: Reader, item: () => T): T[] {
  const out: T[] = [];
  for (let count = reader.u32(); count > 0; count--) out.push(item());
  return out;
}

function typeAt(types: readonly FuncType[], index: number): FuncType {
  const type = types[index];
  if (type === undefined) throw new WasmFormatError(`type index ${index} is out of range`);
  return type;
}

export function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/**
 * Returns a copy of the module whose memory section declares `limits` for its one memory.
 * The rest of the binary is copied byte for byte.
 */
export function rewriteMemoryLimits(bytes: Uint8Array, section: MemorySection, initial: number, maximum: number): Uint8Array {
  const content = [...encodeU32(1), 0x01, ...encodeU32(initial), ...encodeU32(maximum)];
  const header = [5, ...encodeU32(content.length)];
  const out = new Uint8Array(bytes.length - (section.end - section.start) + header.length + content.length);
  out.set(bytes.subarray(0, section.start), 0);
  out.set(header, section.start);
  out.set(content, section.start + header.length);
  out.set(bytes.subarray(section.end), section.start + header.length + content.length);
  return out;
}

export function sameSignature(type: FuncType, params: readonly ValType[], results: readonly ValType[]): boolean {
  return (
    type.params.length === params.length &&
    type.results.length === results.length &&
    type.params.every((p, i) => p === params[i]) &&
    type.results.every((r, i) => r === results[i])
  );
}

export function formatSignature(type: { params: readonly ValType[]; results: readonly ValType[] }): string {
  return `(${type.params.join(', ')}) -> ${type.results.length === 0 ? '()' : type.results.join(', ')}`;
}

export function encodeName(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [...encodeU32(bytes.length), ...bytes];
}

/**
 * Returns a copy of the module whose one memory is imported as `module.name` with these limits
 * instead of defined by the module: the sandbox can then hand each fresh instance a zeroed memory
 * from a pool rather than have V8 map and unmap a new one per invocation. Exports of memory 0 keep
 * pointing at the same memory (an imported memory takes index 0, and the module has only one).
 */
export function rewriteMemoryAsImport(bytes: Uint8Array, structure: WasmStructure, module: string, name: string, initial: number, maximum: number): Uint8Array {
  const memory = structure.sections.find((section) => section.id === 5);
  if (memory === undefined) throw new WasmFormatError('the module defines no memory to import');
  const entry = [...encodeName(module), ...encodeName(name), 0x02, 0x01, ...encodeU32(initial), ...encodeU32(maximum)];
  const imports = structure.sections.find((section) => section.id === 2);
  const parts: Uint8Array[] = [];
  let importSection: number[];
  let insertAt: number;
  let skipFrom: number;
  let skipTo: number;
  if (imports !== undefined) {
    const reader = new Reader(bytes, imports.contentStart, imports.end);
    const count = reader.u32();
    const rest = Array.from(bytes.subarray(reader.pos, imports.end));
    const content = [...encodeU32(count + 1), ...rest, ...entry];
    importSection = [2, ...encodeU32(content.length), ...content];
    insertAt = imports.start;
    skipFrom = imports.start;
    skipTo = imports.end;
  } else {
    const content = [...encodeU32(1), ...entry];
    importSection = [2, ...encodeU32(content.length), ...content];
    // Sections go in id order (custom sections anywhere): the import section goes before the first one after it.
    const after = structure.sections.find((section) => section.id > 2);
    insertAt = after?.start ?? bytes.length;
    skipFrom = insertAt;
    skipTo = insertAt;
  }
  // Copy everything except the old import section (if any) and the memory section.
  const cuts = [
    { from: skipFrom, to: skipTo, insert: Uint8Array.from(importSection) },
    { from: memory.start, to: memory.end, insert: new Uint8Array(0) },
  ].sort((a, b) => a.from - b.from);
  let at = 0;
  for (const cut of cuts) {
    parts.push(bytes.subarray(at, cut.from), cut.insert);
    at = cut.to;
  }
  parts.push(bytes.subarray(at));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
