import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker thread whose entry is the module `name` next to `from` (the caller's
 * `import.meta.url`). Built, that is plain JavaScript (`name.js`). From source (tests and
 * benchmarks under tsx) it is loaded through tsx's API: Node 20 applies neither the parent's
 * loader hooks nor `--import` in a worker's execArgv to the worker's own entry module. The path is
 * judged, not the URL: a module loaded by tsImport (a worker's own) has a query in its URL.
 */
export function startModuleWorker(from: string, name: string, options: WorkerOptions): Worker {
  if (!new URL(from).pathname.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), options);
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL(`./${name}.ts`, from).href);
  return new Worker(`import(${api}).then(({ tsImport }) => tsImport(${entry}, ${JSON.stringify(from)}))`, { ...options, eval: true });
}
