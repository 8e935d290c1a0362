// Types for build.mjs, so TypeScript tests can use its ABI check.
export declare const allowedImports: ReadonlySet<string>;
export declare const requiredExports: ReadonlyMap<string, string>;
export declare function abiProblems(bytes: Uint8Array): string[];
