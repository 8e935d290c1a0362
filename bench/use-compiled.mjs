// `node --import tsx --import ./bench/use-compiled.mjs bench/<name>/index.ts` (scripts/run-bench.sh):
// the benchmark's own files run under tsx, the AeroDB code they import runs as compiled by
// `make build` (dist/), which is what `aerofn serve` runs. Under tsx the same source ran slower:
// its transform keeps function names by wrapping every closure made per event in a helper that
// redefines `name` (docs/benchmarks.md, "Compiled code").
import { readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of the .ts files under `dir` (0 when there are none). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

let built = 0;
try {
  built = statSync(join(root, 'dist', 'main.js')).mtimeMs;
} catch {
  // not built
}
if (built < newestSource(join(root, 'src'))) {
  console.error('bench: dist/ is missing or older than src/; run `make build` (or `make bench`, which builds first).');
  process.exit(1);
}
register('./compiled-hooks.mjs', import.meta.url);
