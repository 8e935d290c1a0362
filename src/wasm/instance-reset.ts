import { noFacts, scanCode, UnknownOpcode, type CodeFacts } from './code-scan.js';
import { encodeName, encodeU32, Reader, WasmFormatError } from './wasm-binary.js';

/**
 * A fresh instance serves each invocation (DESIGN §4.1), and instantiating is most of a worker's
 * cost per job (~3–5 µs of `new WebAssembly.Instance`, more with cold caches). An instance can
 * instead be put back into exactly the state instantiation gave it — when that state is all in
 * places the host can read and write: its memory (copied back from a snapshot taken right after
 * instantiation) and its mutable globals (exported under RESET_GLOBAL_PREFIX by the rewrite below,
 * restored from the same snapshot). Everything else must not change after instantiation, and the
 * module's code is scanned to prove it:
 *
 * - no `data.drop` or `elem.drop` (a dropped segment stays dropped),
 * - no `table.set`, `table.grow`, `table.fill`, `table.copy` or `table.init` (tables keep what
 *   their active segments put there),
 * - no imported tables or globals, one memory (the sandbox's), no v128 or typed-reference globals,
 * - a start function, if any, that reaches no import and no indirect call: its effects are then a
 *   pure function of the module and land in the snapshot, as a fresh instance's would. (A start
 *   function that could call `log` would log once instead of once per invocation.)
 *
 * AssemblyScript's output passes (its start function sets the heap base). Anything the scan does
 * not understand — an unknown opcode, a malformed section — leaves the module to fresh instances.
 * The worker also drops an instance whose run trapped, failed or grew its memory.
 */
export interface InstanceReset {
  /** Export names of the mutable globals, in the order the worker restores them. */
  readonly globals: readonly string[];
}

export const RESET_GLOBAL_PREFIX = 'aerofn:global:';

interface ModuleFacts {
  importedFunctions: number;
  /**
   * Fresh instances only: the module imports a table or a global, has a v128 or typed-reference
   * global, or exports a name under RESET_GLOBAL_PREFIX.
   */
  refused: boolean;
  memories: number;
  mutableGlobals: number[];
  start: number | undefined;
  bodies: CodeFacts[];
  exportSection: { start: number; end: number; contentStart: number } | undefined;
  /** Where a new export section goes when the module has none: before the first section that must follow it. */
  exportInsertAt: number;
}

/** The order sections must come in (custom sections, id 0, may stand anywhere). */
const sectionRank: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

function readFacts(bytes: Uint8Array): ModuleFacts {
  const facts: ModuleFacts = { importedFunctions: 0, refused: false, memories: 0, mutableGlobals: [], start: undefined, bodies: [], exportSection: undefined, exportInsertAt: bytes.length };
  const reader = new Reader(bytes, 8);
  let globalIndex = 0;
  while (reader.pos < bytes.length) {
    const start = reader.pos;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.pos;
    const end = contentStart + size;
    if (end > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    if (facts.exportInsertAt === bytes.length && (sectionRank[id] ?? 0) > (sectionRank[7] as number)) facts.exportInsertAt = start;
    const r = new Reader(bytes, contentStart, end);
    if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0x00) {
          facts.importedFunctions++;
          r.u32();
        } else if (kind === 0x02) {
          facts.memories++;
          r.limits();
        } else if (kind === 0x04) {
          r.byte();
          r.u32();
        } else {
          facts.refused = true;
          return facts;
        }
      }
    } else if (id === 5) {
      facts.memories += r.u32();
    } else if (id === 6) {
      for (let n = r.u32(); n > 0; n--) {
        const type = r.byte();
        // v128 cannot cross into JavaScript; typed references are left to fresh instances.
        if (type === 0x7b || type === 0x63 || type === 0x64) {
          facts.refused = true;
          return facts;
        }
        const mutable = r.byte() === 1;
        if (mutable) facts.mutableGlobals.push(globalIndex);
        scanCode(r, noFacts());
        globalIndex++;
      }
    } else if (id === 7) {
      facts.exportSection = { start, end, contentStart };
      for (let n = r.u32(); n > 0; n--) {
        // A guest export under our prefix would collide with the globals the rewrite exports.
        if (r.name().startsWith(RESET_GLOBAL_PREFIX)) facts.refused = true;
        r.byte();
        r.u32();
      }
    } else if (id === 8) {
      facts.start = r.u32();
    } else if (id === 10) {
      for (let n = r.u32(); n > 0; n--) {
        const bodySize = r.u32();
        const body = new Reader(bytes, r.pos, r.pos + bodySize);
        for (let groups = body.u32(); groups > 0; groups--) {
          body.u32();
          const type = body.byte();
          if (type === 0x63 || type === 0x64) body.skipLeb(5);
        }
        const code = noFacts();
        scanCode(body, code);
        facts.bodies.push(code);
        r.pos += bodySize;
      }
    }
    reader.pos = end;
  }
  return facts;
}

/** Whether the start function, through direct calls, can reach an import or an indirect call. */
function startIsPure(facts: ModuleFacts): boolean {
  if (facts.start === undefined) return true;
  const seen = new Set<number>();
  const todo = [facts.start];
  while (todo.length > 0) {
    const fn = todo.pop() as number;
    if (seen.has(fn)) continue;
    seen.add(fn);
    if (fn < facts.importedFunctions) return false;
    const body = facts.bodies[fn - facts.importedFunctions];
    if (body === undefined || body.callsIndirectly) return false;
    todo.push(...body.calls);
  }
  return true;
}

/** The module with `entries` appended to its export section (one is made if it has none). */
function appendExports(bytes: Uint8Array, facts: ModuleFacts, entries: number[][]): Uint8Array {
  let count = 0;
  let rest: Uint8Array = new Uint8Array(0);
  let from = facts.exportInsertAt;
  let to = facts.exportInsertAt;
  if (facts.exportSection !== undefined) {
    const r = new Reader(bytes, facts.exportSection.contentStart, facts.exportSection.end);
    count = r.u32();
    rest = bytes.subarray(r.pos, facts.exportSection.end);
    from = facts.exportSection.start;
    to = facts.exportSection.end;
  }
  const content = [...encodeU32(count + entries.length), ...rest, ...entries.flat()];
  const section = Uint8Array.from([7, ...encodeU32(content.length), ...content]);
  const out = new Uint8Array(bytes.length - (to - from) + section.length);
  out.set(bytes.subarray(0, from), 0);
  out.set(section, from);
  out.set(bytes.subarray(to), from + section.length);
  return out;
}

/**
 * For a module whose memory the sandbox already imports: the bytes to compile (mutable globals
 * exported) and what a worker needs to reset its instances, or undefined when instances of this
 * module must be fresh each time.
 */
export function planInstanceReset(bytes: Uint8Array): { readonly bytes: Uint8Array; readonly reset: InstanceReset } | undefined {
  let facts: ModuleFacts;
  try {
    facts = readFacts(bytes);
  } catch (error) {
    if (error instanceof UnknownOpcode || error instanceof WasmFormatError) return undefined;
    throw error;
  }
  if (facts.refused || facts.memories !== 1) return undefined;
  if (facts.bodies.some((body) => body.dropsSegments || body.writesTables)) return undefined;
  if (!startIsPure(facts)) return undefined;
  const globals = facts.mutableGlobals.map((index) => `${RESET_GLOBAL_PREFIX}${index}`);
  const entries = facts.mutableGlobals.map((index, i) => [...encodeName(globals[i] as string), 0x03, ...encodeU32(index)]);
  return { bytes: entries.length === 0 ? bytes : appendExports(bytes, facts, entries), reset: { globals } };
}
