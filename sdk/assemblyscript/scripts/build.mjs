// Compiles AssemblyScript entry files to wasm with asc (the same compiler `npx asc` runs, driven in
// one process because loading binaryen costs a second per invocation), then checks each module
// against guest ABI v1 (DESIGN §4.2): exports memory, alloc and handler; imports only aerodb.* and
// env.abort. A module that would be refused by the sandbox fails the build here instead.
//
//   node sdk/assemblyscript/scripts/build.mjs            # every examples/<name>/index.ts
//   node sdk/assemblyscript/scripts/build.mjs --force    # ignore up-to-date outputs
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = join(sdkDir, '..', '..');
const buildDir = join(sdkDir, 'build');

export const allowedImports = new Set(['aerodb.log', 'aerodb.db_query', 'aerodb.http_fetch', 'aerodb.env', 'aerodb.context', 'env.abort']);
export const requiredExports = new Map([['memory', 'memory'], ['alloc', 'function'], ['handler', 'function']]);

/** Problems that would make the sandbox refuse the module; [] when it follows the ABI. */
export function abiProblems(bytes) {
  const module = new WebAssembly.Module(bytes);
  const problems = [];
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    if (!allowedImports.has(`${from}.${name}`)) problems.push(`imports ${from}.${name} (${kind}); only aerodb.* and env.abort are allowed`);
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const [name, kind] of requiredExports) {
    if (exports.get(name) !== kind) problems.push(`does not export ${kind} "${name}"`);
  }
  for (const name of exports.keys()) {
    if (!requiredExports.has(name)) problems.push(`exports "${name}", which the ABI does not use`);
  }
  return problems;
}

async function newestMtime(paths) {
  let newest = 0;
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info === null) continue;
    if (info.isDirectory()) {
      const entries = await readdir(path);
      newest = Math.max(newest, await newestMtime(entries.map((e) => join(path, e))));
    } else {
      newest = Math.max(newest, info.mtimeMs);
    }
  }
  return newest;
}

async function compile(entry, outFile) {
  const tmp = `${outFile}.${process.pid}.tmp`;
  const args = [relative(rootDir, entry), '--config', relative(rootDir, join(sdkDir, 'asconfig.json')), '--target', 'release', '--outFile', relative(rootDir, tmp)];
  const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) throw new Error(`asc ${args.join(' ')} failed: ${error.message}${stderr ? `\n${stderr.toString()}` : ''}`);
  const problems = abiProblems(await readFile(tmp));
  if (problems.length > 0) throw new Error(`${relative(rootDir, entry)} breaks the guest ABI: ${problems.join('; ')}`);
  // Rename only a checked module into place, so a half-written or refused one never looks up to date.
  await rename(tmp, outFile);
}

async function main() {
  process.chdir(rootDir);
  const force = process.argv.includes('--force');
  await mkdir(buildDir, { recursive: true });
  const examplesDir = join(sdkDir, 'examples');
  const names = (await readdir(examplesDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  // Sources every example depends on: the SDK, the compiler options, this script and the compiler version.
  const shared = await newestMtime([join(sdkDir, 'assembly'), join(sdkDir, 'asconfig.json'), fileURLToPath(import.meta.url), join(rootDir, 'node_modules', 'assemblyscript', 'package.json')]);
  let built = 0;
  for (const name of names) {
    const entry = join(examplesDir, name, 'index.ts');
    if ((await stat(entry).catch(() => null)) === null) continue;
    const outFile = join(buildDir, `${name}.wasm`);
    const out = await stat(outFile).catch(() => null);
    const sources = Math.max(shared, await newestMtime([join(examplesDir, name)]));
    if (!force && out !== null && out.mtimeMs > sources) continue;
    const started = Date.now();
    await compile(entry, outFile);
    const size = (await stat(outFile)).size;
    console.log(`asc ${relative(rootDir, entry)} -> ${relative(rootDir, outFile)} (${size} bytes, ${Date.now() - started} ms)`);
    built++;
  }
  if (built === 0) console.log(`AssemblyScript examples up to date in ${relative(rootDir, buildDir)}/`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
