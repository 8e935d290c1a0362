import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TypeScript from 'typescript';

/** The files the worker thread loads, in dependency order, relative to this file. */
const workerFiles = ['../db/pglite/thread-channel', 'sandbox-protocol', 'classify-failure', 'host-reply-wait', 'module-instances', 'sandbox-worker'] as const;
const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

let cached: URL | undefined;

/**
 * Where the sandbox worker's code is. Built, it is sandbox-worker.js next to this file. Run from
 * source (tests and benchmarks under tsx), Node 20 does not apply the parent's ESM hooks inside
 * workers, and loading tsx in every worker costs most of a second per (re)start. So the
 * worker files are transpiled once per process with the TypeScript compiler (a dev dependency,
 * present wherever .ts sources run) into CommonJS files in the temp directory.
 */
export function sandboxWorkerUrl(): URL {
  if (cached !== undefined) return cached;
  const here = import.meta.url;
  // The path, not the URL: loaded through tsx's tsImport (a stream thread), the URL has a query.
  if (!new URL(here).pathname.endsWith('.ts')) {
    cached = new URL('./sandbox-worker.js', here);
    return cached;
  }
  const sources = workerFiles.map((path) => readFileSync(fileURLToPath(new URL(path.startsWith('.') ? `${path}.ts` : `./${path}.ts`, here)), 'utf8'));
  const digest = createHash('sha256').update(sources.join('\0')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `aerofn-sandbox-worker-${digest}`);
  const entry = join(dir, 'sandbox-worker.cjs');
  try {
    readFileSync(entry);
  } catch {
    const ts = createRequire(here)('typescript') as typeof TypeScript;
    mkdirSync(dir, { recursive: true });
    workerFiles.forEach((path, i) => {
      const name = baseName(path);
      const { outputText } = ts.transpileModule(sources[i] as string, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: `${name}.ts`,
      });
      // Every file lands in one folder: `./x.js` and `../domain/…/x.js` both become `./x.cjs`.
      const js = outputText.replace(/require\("\.\.?\/(?:[a-z-]+\/)*([a-z-]+)\.js"\)/g, 'require("./$1.cjs")');
      // Write then rename, so a concurrent test process never loads a half-written file.
      const target = join(dir, `${name}.cjs`);
      writeFileSync(`${target}.${process.pid}.tmp`, js);
      renameSync(`${target}.${process.pid}.tmp`, target);
    });
  }
  cached = new URL(`file://${entry}`);
  return cached;
}
