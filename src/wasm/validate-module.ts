import { createHash } from 'node:crypto';
import { FunctionError } from '../errors/index.js';
import { abortSignature, HOST_MODULE, hostImportSignatures, isHostImportName, requiredExports, type HostImportName } from './guest-abi.js';
import {
  formatSignature,
  readWasmStructure,
  rewriteMemoryLimits,
  sameSignature,
  WASM_PAGE_BYTES,
  WasmFormatError,
  type WasmStructure,
} from './wasm-binary.js';

export interface MemoryLimitSettings {
  readonly memoryMb: number;
}

/** A module that passed every check, compiled from its limit-rewritten bytes. */
export interface ValidatedModule {
  /** sha256 (hex) of the bytes as deployed, before the limits were rewritten. */
  readonly sha256: string;
  /** The bytes that were compiled: the deployed module with its memory limits capped. */
  readonly bytes: Uint8Array;
  readonly module: WebAssembly.Module;
  readonly memory: { readonly initialPages: number; readonly maxPages: number; readonly declaredMaxPages: number | undefined };
  /** The `aerodb` host functions the module imports (the sandbox wires only these). */
  readonly hostImports: readonly HostImportName[];
  readonly importsAbort: boolean;
}

export interface CheckedModule {
  readonly rewritten: Uint8Array;
  readonly memory: ValidatedModule['memory'];
  readonly hostImports: HostImportName[];
  readonly importsAbort: boolean;
}

const pagesPerMb = (1024 * 1024) / WASM_PAGE_BYTES;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function invalid(message: string, details?: Record<string, unknown>): FunctionError {
  return new FunctionError('InvalidWasm', message, details === undefined ? {} : { details });
}

/**
 * Checks a module against Guest ABI v1 and the memory limit, rewrites its memory maximum to the
 * limit and compiles it. Throws FunctionError('InvalidWasm') with a reason a person can act on.
 */
export async function validateModule(bytes: Uint8Array, limits: MemoryLimitSettings): Promise<ValidatedModule> {
  const { rewritten, memory, hostImports, importsAbort } = checkModule(bytes, limits);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(rewritten);
  } catch (error) {
    throw invalid(`the module does not compile: ${(error as Error).message}. Rebuild it with a WebAssembly 1.0/2.0 toolchain (asc, rustc --target wasm32-unknown-unknown, tinygo).`);
  }
  return { sha256: sha256Hex(bytes), bytes: rewritten, module, memory, hostImports, importsAbort };
}

/** The synchronous part of validateModule: structure, ABI and limits; no compilation. */
export function checkModule(bytes: Uint8Array, limits: MemoryLimitSettings): CheckedModule {
  let structure: WasmStructure;
  try {
    structure = readWasmStructure(bytes);
  } catch (error) {
    if (error instanceof WasmFormatError) {
      throw invalid(`the upload is not a WebAssembly module: ${error.message}. Upload the .wasm file your compiler wrote, not its text form or an archive.`);
    }
    throw error;
  }

  const hostImports: HostImportName[] = [];
  let importsAbort = false;
  for (const entry of structure.imports) {
    const where = `${entry.module}.${entry.name}`;
    if (entry.desc.kind === 'memory') {
      throw invalid(`the module imports its memory (${where}); it must define and export its own memory named "memory".`);
    }
    if (entry.module === HOST_MODULE && isHostImportName(entry.name)) {
      const expected = hostImportSignatures[entry.name];
      if (entry.desc.kind !== 'function' || !sameSignature(entry.desc.type, expected.params, expected.results)) {
        const got = entry.desc.kind === 'function' ? formatSignature(entry.desc.type) : `a ${entry.desc.kind}`;
        throw invalid(`the import ${where} must be a function ${formatSignature(expected)}, but the module declares ${got}.`);
      }
      hostImports.push(entry.name);
      continue;
    }
    if (entry.module === 'env' && entry.name === 'abort') {
      if (entry.desc.kind !== 'function' || !sameSignature(entry.desc.type, abortSignature.params, abortSignature.results)) {
        throw invalid(`the import env.abort must be a function ${formatSignature(abortSignature)} as AssemblyScript emits it.`);
      }
      importsAbort = true;
      continue;
    }
    throw invalid(
      `the module imports ${where}, which the sandbox does not provide. Guests may import only ` +
        `${HOST_MODULE}.{${Object.keys(hostImportSignatures).join(', ')}} and env.abort (no WASI, no JS glue).`,
      { import: where },
    );
  }

  const exportsByName = new Map(structure.exports.map((entry) => [entry.name, entry]));
  const memoryExport = exportsByName.get('memory');
  if (memoryExport === undefined || memoryExport.kind !== 'memory') {
    throw invalid('the module does not export its memory as "memory"; the host needs it to pass input and read output (AssemblyScript exports it by default; with Rust or C, export it).');
  }
  for (const [name, signature] of Object.entries(requiredExports)) {
    const entry = exportsByName.get(name);
    if (entry === undefined || entry.kind !== 'function') {
      throw invalid(`the module does not export a function "${name}" ${formatSignature(signature)}, which Guest ABI v1 requires (see docs/sandbox.md).`);
    }
    const type = structure.functionTypes[entry.index];
    if (type === undefined) throw invalid(`the export "${name}" names function ${entry.index}, which does not exist.`);
    if (!sameSignature(type, signature.params, signature.results)) {
      throw invalid(`the export "${name}" must be ${formatSignature(signature)}, but it is ${formatSignature(type)}.`);
    }
  }

  const section = structure.memorySection;
  if (section === undefined || section.memories.length === 0) {
    throw invalid('the module exports "memory" but defines no memory of its own.');
  }
  if (section.memories.length > 1) throw invalid('the module defines more than one memory (multi-memory); use one memory.');
  const declared = section.memories[0]!;
  if ((declared.flags & 0x02) !== 0) throw invalid('the module declares a shared memory (threads); guests run single-threaded, remove the shared flag.');
  if ((declared.flags & 0x04) !== 0) throw invalid('the module declares a 64-bit memory (memory64); use a 32-bit memory.');
  if (memoryExport.index !== 0) throw invalid('the exported "memory" is not the module\'s memory 0.');

  const capPages = limits.memoryMb * pagesPerMb;
  if (declared.initial > capPages) {
    throw invalid(
      `the module's initial memory is ${formatBytes(declared.initial * WASM_PAGE_BYTES)} (${declared.initial} pages), above the ` +
        `${limits.memoryMb} MiB limit. Lower the initial memory (asc --initialMemory, rustc -C link-arg=--initial-memory) or raise config.memoryMb.`,
      { initialPages: declared.initial, limitPages: capPages },
    );
  }
  const maxPages = declared.maximum === undefined ? capPages : Math.min(declared.maximum, capPages);
  const rewritten = rewriteMemoryLimits(bytes, section, declared.initial, maxPages);
  return {
    rewritten,
    memory: { initialPages: declared.initial, maxPages, declaredMaxPages: declared.maximum },
    hostImports,
    importsAbort,
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB` : `${bytes} bytes`;
}
