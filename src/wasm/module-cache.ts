import { FunctionError } from '../errors/index.js';
import type { CompiledModule } from './sandbox-types.js';
import { SANDBOX_MEMORY_IMPORT } from './sandbox-protocol.js';
import { checkModule, sha256Hex, type MemoryLimitSettings } from './validate-module.js';
import { planInstanceReset } from './instance-reset.js';
import { readWasmStructure, rewriteMemoryAsImport, WASM_PAGE_BYTES } from './wasm-binary.js';

export interface ModuleCache {
  /**
   * The compiled module for these bytes under this memory limit: validated and compiled once on the
   * main thread, then reused (workers receive the compiled module, not the bytes). Rejects with
   * FunctionError('InvalidWasm').
   */
  load(sha256: string, limits: MemoryLimitSettings, fetchBytes: () => Promise<Uint8Array>): Promise<CompiledModule>;
  /** The module when it is compiled already (no await on the hot path), else undefined: use load(). */
  peek(sha256: string, limits: MemoryLimitSettings): CompiledModule | undefined;
  readonly size: number;
}

export interface ModuleCacheOptions {
  /** Compiled modules kept; the least recently used one goes first. */
  readonly maxEntries?: number;
  readonly onEvict?: (module: CompiledModule) => void;
}

let nextModuleId = 0;

interface Entry {
  readonly loading: Promise<CompiledModule>;
  module: CompiledModule | undefined;
  usedAt: number;
  /** Out of the cache (evicted, or its compile failed). */
  dropped: boolean;
}

export function createModuleCache(options: ModuleCacheOptions = {}): ModuleCache {
  const maxEntries = options.maxEntries ?? 256;
  // Keyed by content and limit: the limit is written into the compiled bytes. Recency is a
  // counter per entry (peek runs per invocation: re-inserting into the Map there cost µs).
  const entries = new Map<string, Entry>();
  let tick = 0;
  // The entry peek found last: a function invoked again is found without building its key string
  // (a template of the 64-character sha256 per invocation showed in the allocation profile).
  let last: { sha256: string; memoryMb: number; entry: Entry } | undefined;

  async function compile(sha256: string, limits: MemoryLimitSettings, fetchBytes: () => Promise<Uint8Array>): Promise<CompiledModule> {
    const bytes = await fetchBytes();
    if (sha256Hex(bytes) !== sha256) {
      throw new FunctionError('InvalidWasm', `the stored module bytes do not match their sha256 ${sha256}; redeploy the function.`);
    }
    const checked = checkModule(bytes, limits);
    const { initialPages, maxPages } = checked.memory;
    // The module imports its memory, so each fresh instance gets a zeroed one from the worker's
    // pool instead of V8 mapping and unmapping a new one (with TLB shootdowns) per invocation.
    const sandboxed = rewriteMemoryAsImport(bytes, readWasmStructure(bytes), SANDBOX_MEMORY_IMPORT.module, SANDBOX_MEMORY_IMPORT.name, initialPages, maxPages);
    // Where the code allows it, workers reset a used instance instead of instantiating (instance-reset.ts).
    const resettable = planInstanceReset(sandboxed);
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(resettable?.bytes ?? sandboxed);
    } catch (error) {
      throw new FunctionError('InvalidWasm', `the module does not compile: ${(error as Error).message}. Rebuild it with a WebAssembly 1.0/2.0 toolchain.`);
    }
    return { id: ++nextModuleId, sha256, module, maxBytes: maxPages * WASM_PAGE_BYTES, hostImports: checked.hostImports, importedMemory: { initialPages, maxPages }, reset: resettable?.reset };
  }

  function evictOldest(): void {
    while (entries.size > maxEntries) {
      // Least recently used; a scan is fine: evictions are rare and the cache is small.
      let oldestKey: string | undefined;
      let oldestAt = Infinity;
      for (const [key, entry] of entries) {
        if (entry.usedAt < oldestAt) {
          oldestAt = entry.usedAt;
          oldestKey = key;
        }
      }
      const oldest = entries.get(oldestKey as string);
      entries.delete(oldestKey as string);
      if (oldest !== undefined) oldest.dropped = true;
      oldest?.loading.then((module) => options.onEvict?.(module), () => undefined);
    }
  }

  return {
    load(sha256, limits, fetchBytes) {
      const key = `${sha256}/${limits.memoryMb}`;
      const hit = entries.get(key);
      if (hit !== undefined) {
        hit.usedAt = ++tick;
        return hit.loading;
      }
      const loading = compile(sha256, limits, fetchBytes);
      const entry: Entry = { loading, module: undefined, usedAt: ++tick, dropped: false };
      entries.set(key, entry);
      loading.then(
        (module) => {
          entry.module = module;
        },
        () => {
          entry.dropped = true;
          if (entries.get(key) === entry) entries.delete(key);
        },
      );
      evictOldest();
      return loading;
    },
    peek(sha256, limits) {
      const hit = last !== undefined && last.sha256 === sha256 && last.memoryMb === limits.memoryMb && !last.entry.dropped ? last.entry : undefined;
      const entry = hit ?? entries.get(`${sha256}/${limits.memoryMb}`);
      if (entry?.module === undefined) return undefined;
      if (hit === undefined) last = { sha256, memoryMb: limits.memoryMb, entry };
      entry.usedAt = ++tick;
      return entry.module;
    },
    get size() {
      return entries.size;
    },
  };
}
