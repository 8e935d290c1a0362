import type { InstanceReset } from './instance-reset.js';

/*
 * The worker's instances of one module (loaded inside the sandbox worker, see worker-source.ts).
 * Each job gets an instance in its fresh state: a used one put back into that state when the
 * module allows it (instance-reset.ts decides, on the main thread), else a new one on a zeroed
 * memory from a small pool instead of a memory V8 maps and unmaps per invocation.
 */

/** Memories up to this size are zeroed (or restored) and reused; bigger or grown ones are left to the GC. */
const REUSE_MAX_BYTES = 1024 * 1024;
const MEMORIES_PER_MODULE = 4;
/** A worker runs one job at a time: one reset instance is all it can use. */
const WARM_PER_MODULE = 1;

/** A used instance and the state to put back: memory bytes and mutable globals right after instantiation. */
interface Warm {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  /** The memory's size right after instantiation; a job that grew it drops the instance. */
  readonly byteLength: number;
  /** Its bytes then: zero except these runs (a reset zeroes the memory and writes them back). */
  readonly nonZero: readonly NonZeroRun[];
  readonly globals: readonly WebAssembly.Global[];
  readonly values: readonly unknown[];
}

interface NonZeroRun {
  readonly at: number;
  readonly bytes: Uint8Array;
}

/** Zero bytes between two runs below which they are kept as one (fewer, longer copies). */
const RUN_GAP_BYTES = 256;

/**
 * The non-zero runs of a fresh memory. A module's fresh memory is mostly zeros (its data
 * segments are small), so a reset fills with zeros and copies those runs back instead of copying
 * a whole snapshot: half the time for a 64 KiB memory (1.23 → 0.63 µs), and no second 64 KiB
 * read through the worker's cache.
 */
function nonZeroRuns(memory: Uint8Array): NonZeroRun[] {
  const words = new Uint32Array(memory.buffer, memory.byteOffset, memory.byteLength >>> 2);
  const runs: NonZeroRun[] = [];
  let start = -1;
  let end = -1;
  for (let i = 0; i < words.length; i++) {
    if (words[i] === 0) continue;
    const at = i << 2;
    if (start >= 0 && at - end > RUN_GAP_BYTES) {
      runs.push({ at: start, bytes: memory.slice(start, end) });
      start = -1;
    }
    if (start < 0) start = at;
    end = at + 4;
  }
  if (start >= 0) runs.push({ at: start, bytes: memory.slice(start, end) });
  return runs;
}

export class ModuleInstances {
  private readonly memories: WebAssembly.Memory[] = [];
  private readonly warm: Warm[] = [];
  /** The instance the running job uses: its memory, and its snapshot when it can be reset. */
  private inUse: { readonly memory: WebAssembly.Memory; readonly warm: Warm | undefined } | undefined;
  created = 0;
  reused = 0;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly importedMemory: { readonly initialPages: number; readonly maxPages: number } | undefined,
    private readonly reset: InstanceReset | undefined,
  ) {}

  /**
   * An instance in its fresh state for the next job. `memorySlot` is the import the module's
   * memory comes from; it is pointed at the memory a new instance gets.
   */
  take(imports: WebAssembly.Imports, memorySlot: { memory: WebAssembly.Memory | number }): WebAssembly.Instance {
    const warm = this.warm.pop();
    if (warm !== undefined) {
      this.reused++;
      this.inUse = { memory: warm.memory, warm };
      return warm.instance;
    }
    this.created++;
    if (this.importedMemory === undefined) return new WebAssembly.Instance(this.module, imports);
    const { initialPages, maxPages } = this.importedMemory;
    const memory = this.memories.pop() ?? new WebAssembly.Memory({ initial: initialPages, maximum: maxPages });
    memorySlot.memory = memory;
    // Set before instantiating: a start function that traps still leaves a memory to recycle.
    this.inUse = { memory, warm: undefined };
    const instance = new WebAssembly.Instance(this.module, imports);
    if (this.reset !== undefined && memory.buffer.byteLength <= REUSE_MAX_BYTES) {
      const globals = this.reset.globals.map((name) => instance.exports[name] as WebAssembly.Global);
      this.inUse = { memory, warm: { instance, memory, byteLength: memory.buffer.byteLength, nonZero: nonZeroRuns(new Uint8Array(memory.buffer)), globals, values: globals.map((global) => global.value as unknown) } };
    }
    return instance;
  }

  /**
   * After the job's result is out. `clean`: the guest returned normally. A resettable instance
   * gets its snapshot back and is kept; one that trapped, failed or grew its memory is dropped. A
   * memory of a module that cannot be reset is zeroed and kept for the next new instance.
   */
  release(clean: boolean): void {
    const used = this.inUse;
    this.inUse = undefined;
    if (used === undefined) return;
    const { memory, warm } = used;
    const size = memory.buffer.byteLength;
    if (warm !== undefined) {
      if (!clean || size !== warm.byteLength || this.warm.length >= WARM_PER_MODULE) return;
      const view = new Uint8Array(memory.buffer);
      view.fill(0);
      for (const run of warm.nonZero) view.set(run.bytes, run.at);
      for (let i = 0; i < warm.globals.length; i++) (warm.globals[i] as WebAssembly.Global).value = warm.values[i];
      this.warm.push(warm);
      return;
    }
    if (size !== (this.importedMemory?.initialPages ?? 0) * 65_536 || size > REUSE_MAX_BYTES || this.memories.length >= MEMORIES_PER_MODULE) return;
    new Uint8Array(memory.buffer).fill(0);
    this.memories.push(memory);
  }
}
