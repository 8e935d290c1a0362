import type { ValType } from './wasm-binary.js';

/**
 * Guest ABI v1 (DESIGN §4.2) as data: what a module must export and what it may import.
 * Kept free of imports beyond types so the worker thread can load it cheaply.
 */
export const HOST_MODULE = 'aerodb';

export type HostImportName = 'log' | 'db_query' | 'http_fetch' | 'env' | 'context';

interface Signature {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export const hostImportSignatures: Readonly<Record<HostImportName, Signature>> = {
  log: { params: ['i32', 'i32', 'i32'], results: [] },
  db_query: { params: ['i32', 'i32'], results: ['i64'] },
  http_fetch: { params: ['i32', 'i32'], results: ['i64'] },
  env: { params: ['i32', 'i32'], results: ['i64'] },
  context: { params: [], results: ['i64'] },
};

/** AssemblyScript's `abort(message, fileName, line, column)`, imported as `env.abort`. */
export const abortSignature: Signature = { params: ['i32', 'i32', 'i32', 'i32'], results: [] };

export const requiredExports: Readonly<Record<'alloc' | 'handler', Signature>> = {
  alloc: { params: ['i32'], results: ['i32'] },
  handler: { params: ['i32', 'i32'], results: ['i64'] },
};

export function isHostImportName(name: string): name is HostImportName {
  return Object.prototype.hasOwnProperty.call(hostImportSignatures, name);
}
