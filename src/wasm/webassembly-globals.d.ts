/**
 * The slice of the WebAssembly JS API and Atomics.waitAsync that the sandbox uses. TypeScript
 * declares them only in lib.dom / lib.es2024, which this Node project (lib ES2023, no DOM) does not
 * load; adding DOM would let browser globals type-check in server code.
 */
declare global {
  namespace WebAssembly {
    type ImportValue = ((...args: never[]) => unknown) | Memory | Global | Table | number | bigint;
    type Imports = Record<string, Record<string, ImportValue>>;
    type Exports = Record<string, unknown>;
    interface ModuleImportDescriptor { readonly module: string; readonly name: string; readonly kind: string }
    interface ModuleExportDescriptor { readonly name: string; readonly kind: string }
    class Module {
      constructor(bytes: BufferSource);
      static imports(module: Module): ModuleImportDescriptor[];
      static exports(module: Module): ModuleExportDescriptor[];
    }
    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Exports;
    }
    interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    class Global {
      constructor(descriptor: { value: string; mutable?: boolean }, value?: unknown);
      value: unknown;
    }
    class Table {
      constructor(descriptor: { element: string; initial: number; maximum?: number });
      readonly length: number;
    }
    class CompileError extends Error {}
    class LinkError extends Error {}
    class RuntimeError extends Error {}
    function compile(bytes: BufferSource): Promise<Module>;
    function validate(bytes: BufferSource): boolean;
    function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  }
  interface Atomics {
    waitAsync(
      typedArray: Int32Array,
      index: number,
      value: number,
      timeout?: number,
    ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
  }
}

export {};
