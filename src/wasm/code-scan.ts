import { WasmFormatError, type Reader } from './wasm-binary.js';

/**
 * Walks WebAssembly instructions far enough to tell what a function can do to its instance's state
 * and whom it calls: every opcode of WebAssembly 2.0 plus sign extension, saturating conversions,
 * bulk memory, reference types, SIMD, threads, tail calls, typed function references and exception
 * handling, with their immediates. An opcode it does not know (say the GC proposal's) throws
 * UnknownOpcode: the caller must then assume the worst.
 */
export class UnknownOpcode extends Error {
  override readonly name = 'UnknownOpcode';
}

/** What one function body (or constant expression) contains. */
export interface CodeFacts {
  /** Functions called directly (call, return_call). */
  readonly calls: Set<number>;
  /** call_indirect, call_ref or their tail-call forms: any function may be called. */
  callsIndirectly: boolean;
  /** data.drop or elem.drop: a segment's state changes for the rest of the instance's life. */
  dropsSegments: boolean;
  /** table.set, table.grow, table.fill, table.copy or table.init. */
  writesTables: boolean;
}

export const noFacts = (): CodeFacts => ({ calls: new Set(), callsIndirectly: false, dropsSegments: false, writesTables: false });

function memarg(r: Reader): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32(); // multi-memory: a memory index follows
  r.skipLeb(10);
}

function heapTypeOrValType(r: Reader): void {
  const b = r.peek();
  if (b === 0x63 || b === 0x64) {
    r.byte();
    r.skipLeb(5);
  } else r.skipLeb(5);
}

/** Block type: empty, a value type or a type index (all one signed LEB), or a typed reference. */
const blockType = heapTypeOrValType;

/** 0xFC prefix: saturating truncation, bulk memory and table instructions. */
function prefixFC(r: Reader, facts: CodeFacts): void {
  const op = r.u32();
  if (op <= 7) return;
  switch (op) {
    case 8: // memory.init data memory
      r.u32();
      r.u32();
      return;
    case 9: // data.drop
      r.u32();
      facts.dropsSegments = true;
      return;
    case 10: // memory.copy
      r.u32();
      r.u32();
      return;
    case 11: // memory.fill
      r.u32();
      return;
    case 12: // table.init elem table
    case 14: // table.copy
      r.u32();
      r.u32();
      facts.writesTables = true;
      return;
    case 13: // elem.drop
      r.u32();
      facts.dropsSegments = true;
      return;
    case 15: // table.grow
    case 17: // table.fill
      r.u32();
      facts.writesTables = true;
      return;
    case 16: // table.size
      r.u32();
      return;
    default:
      throw new UnknownOpcode(`0xfc ${op}`);
  }
}

/** 0xFD prefix: SIMD. */
function prefixFD(r: Reader): void {
  const op = r.u32();
  if (op <= 11 || op === 92 || op === 93) return memarg(r);
  if (op === 12 || op === 13) return r.skip(16); // v128.const, i8x16.shuffle
  if (op >= 21 && op <= 34) return r.skip(1); // extract_lane / replace_lane
  if (op >= 84 && op <= 91) {
    memarg(r); // load/store lane
    return r.skip(1);
  }
  if (op <= 0x113) return; // the other SIMD and relaxed-SIMD instructions take no immediate
  throw new UnknownOpcode(`0xfd ${op}`);
}

/** 0xFE prefix: threads (atomics). */
function prefixFE(r: Reader): void {
  const op = r.u32();
  if (op === 3) return r.skip(1); // atomic.fence
  if (op <= 2 || (op >= 0x10 && op <= 0x4e)) return memarg(r);
  throw new UnknownOpcode(`0xfe ${op}`);
}

/**
 * Reads instructions from `r` until the `end` that closes the body or expression it starts in
 * (the reader is then past it), recording what they do into `facts`.
 */
export function scanCode(r: Reader, facts: CodeFacts): void {
  let depth = 1;
  while (depth > 0) {
    const op = r.byte();
    switch (op) {
      case 0x02: // block
      case 0x03: // loop
      case 0x04: // if
      case 0x06: // try (legacy exception handling)
        blockType(r);
        depth++;
        break;
      case 0x1f: {
        // try_table: block type, then catch clauses (kind, tag for kinds 0 and 1, label)
        blockType(r);
        for (let n = r.u32(); n > 0; n--) {
          const kind = r.byte();
          if (kind <= 1) r.u32();
          r.u32();
        }
        depth++;
        break;
      }
      case 0x0b: // end
        depth--;
        break;
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0a: // throw_ref
      case 0x0f: // return
      case 0x19: // catch_all
      case 0x1a: // drop
      case 0x1b: // select
      case 0xd1: // ref.is_null
      case 0xd3: // ref.as_non_null
        break;
      case 0x07: // catch tag
      case 0x08: // throw tag
      case 0x09: // rethrow label
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x18: // delegate
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0xd2: // ref.func
      case 0xd4: // br_on_null
      case 0xd6: // br_on_non_null
        r.u32();
        break;
      case 0x26: // table.set
        r.u32();
        facts.writesTables = true;
        break;
      case 0x0e: // br_table
        for (let n = r.u32(); n > 0; n--) r.u32();
        r.u32();
        break;
      case 0x10: // call
      case 0x12: // return_call
        facts.calls.add(r.u32());
        break;
      case 0x11: // call_indirect type table
      case 0x13: // return_call_indirect
        r.u32();
        r.u32();
        facts.callsIndirectly = true;
        break;
      case 0x14: // call_ref type
      case 0x15: // return_call_ref
        r.u32();
        facts.callsIndirectly = true;
        break;
      case 0x1c: // select with types
        for (let n = r.u32(); n > 0; n--) heapTypeOrValType(r);
        break;
      case 0x3f: // memory.size
      case 0x40: // memory.grow
        r.u32();
        break;
      case 0x41: // i32.const
      case 0x42: // i64.const
        r.skipLeb(10);
        break;
      case 0x43: // f32.const
        r.skip(4);
        break;
      case 0x44: // f64.const
        r.skip(8);
        break;
      case 0xd0: // ref.null heap type
        heapTypeOrValType(r);
        break;
      case 0xfc:
        prefixFC(r, facts);
        break;
      case 0xfd:
        prefixFD(r);
        break;
      case 0xfe:
        prefixFE(r);
        break;
      default:
        if (op >= 0x28 && op <= 0x3e) memarg(r); // loads and stores
        else if (op >= 0x45 && op <= 0xc4) break; // numeric instructions: no immediate
        else throw new UnknownOpcode(`0x${op.toString(16)}`);
    }
  }
  if (r.pos > r.end) throw new WasmFormatError('an instruction runs past its section');
}
