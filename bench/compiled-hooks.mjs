// Module hooks for bench/use-compiled.mjs: an import that resolves into src/*.ts loads the
// compiled dist/*.js instead, read here so tsx's loader never transforms it.
import { readFile } from 'node:fs/promises';

const src = new URL('../src/', import.meta.url).href;
const dist = new URL('../dist/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(src) || !resolved.url.endsWith('.ts')) return resolved;
  return { url: `${dist}${resolved.url.slice(src.length, -'.ts'.length)}.js`, format: 'module', shortCircuit: true };
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith(dist)) return nextLoad(url, context);
  return { format: 'module', source: await readFile(new URL(url)), shortCircuit: true };
}
