import type { HostCallContext, HostCallRecord } from './host-function.js';
import type { InstanceReset } from './instance-reset.js';
import type { HostImportName } from './guest-abi.js';

/** A module compiled once on the main thread; workers receive it by postMessage (no recompile). */
export interface CompiledModule {
  /** Small integer the workers know the module by. */
  readonly id: number;
  readonly sha256: string;
  readonly module: WebAssembly.Module;
  /** The memory cap written into the module, in bytes. */
  readonly maxBytes: number;
  /**
   * Set when the module was rewritten to import its memory (SANDBOX_MEMORY_IMPORT): the worker
   * provides a memory of these limits, zeroed, from a small pool.
   */
  readonly importedMemory: { readonly initialPages: number; readonly maxPages: number } | undefined;
  readonly hostImports: readonly HostImportName[];
  /** Set when a used instance can be put back into its fresh state (instance-reset.ts). */
  readonly reset?: InstanceReset | undefined;
}

/** The HostCallContext without the parts the sandbox owns (signal, deadline). */
export type HostJobContext = Omit<HostCallContext, 'signal' | 'deadline'>;

export interface SandboxJob {
  readonly module: CompiledModule;
  /** UTF-8 JSON text handed to the guest. */
  readonly input: string;
  /** GuestContext as JSON, answered by `context()`; only needed when the module imports it. */
  readonly context: string | undefined;
  readonly timeoutMs: number;
  readonly stackKb: number;
  readonly host: HostJobContext;
}

export type SandboxErrorKind = 'Timeout' | 'OutOfMemory' | 'StackOverflow' | 'HostFunctionError' | 'RuntimePanic' | 'Unavailable';

export interface SandboxResult {
  readonly ok: boolean;
  /** The guest's JSON output when ok, else "". */
  readonly output: string;
  readonly error: { readonly kind: SandboxErrorKind; readonly message: string } | undefined;
  readonly durationMs: number;
  /** Peak linear memory of the instance (memory only grows, so its final size). */
  readonly memoryBytes: number;
  readonly journal: readonly HostCallRecord[];
  readonly logsDropped: number;
}
