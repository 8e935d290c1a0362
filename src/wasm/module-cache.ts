import { FunctionError } from '../errors/index.js';
import type { CompiledModule } from './sandbox-types.js';
import { SANDBOX_MEMORY_IMPORT } from './sandbox-protocol.js';
import { checkModule, sha256Hex, type MemoryLimitSettings } from './validate-module.js';
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

export function createModuleCache(options: ModuleCacheOptions = {}): ModuleCache {
  const maxEntries = options.maxEntries ?? 256;
  // Keyed by content and limit: the limit is written into the compiled bytes.
  const entries = new Map<string, Promise<CompiledModule>>();
  // The same modules once compiled, for peek(): most invocations find theirs here.
  const compiled = new Map<string, CompiledModule>();

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
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(sandboxed);
    } catch (error) {
      throw new FunctionError('InvalidWasm', `the module does not compile: ${(error as Error).message}. Rebuild it with a WebAssembly 1.0/2.0 toolchain.`);
    }
    return { id: ++nextModuleId, sha256, module, maxBytes: maxPages * WASM_PAGE_BYTES, hostImports: checked.hostImports, importedMemory: { initialPages, maxPages } };
  }

  function evictOldest(): void {
    while (entries.size > maxEntries) {
      const [key, oldest] = entries.entries().next().value as [string, Promise<CompiledModule>];
      entries.delete(key);
      compiled.delete(key);
      oldest.then((module) => options.onEvict?.(module), () => undefined);
    }
  }

  return {
    load(sha256, limits, fetchBytes) {
      const key = `${sha256}/${limits.memoryMb}`;
      const hit = entries.get(key);
      if (hit !== undefined) {
        entries.delete(key);
        entries.set(key, hit);
        return hit;
      }
      const loading = compile(sha256, limits, fetchBytes);
      entries.set(key, loading);
      loading.then(
        (module) => {
          if (entries.get(key) === loading) compiled.set(key, module);
        },
        () => {
          if (entries.get(key) === loading) entries.delete(key);
        },
      );
      evictOldest();
      return loading;
    },
    peek(sha256, limits) {
      const key = `${sha256}/${limits.memoryMb}`;
      const module = compiled.get(key);
      if (module === undefined) return undefined;
      const entry = entries.get(key) as Promise<CompiledModule>;
      entries.delete(key); // most recently used
      entries.set(key, entry);
      return module;
    },
    get size() {
      return entries.size;
    },
  };
}
