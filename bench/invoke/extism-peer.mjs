// The Extism side of bench/invoke, run as a plain-Node child process: Extism's worker is a data:
// URL module that dies under the parent's `--import tsx` (its relative source-map comment does not
// resolve), and a worker inherits the loader of the process that starts it.
// Usage: node extism-peer.mjs <plugin.wasm> <payload-file> <seconds> <plugins> <timeoutMs>
import { readFile } from 'node:fs/promises';
import createPlugin from '@extism/extism';

const [wasmPath, payloadPath, secondsArg, pluginsArg, timeoutArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const data = new Uint8Array(await readFile(wasmPath));
const payload = await readFile(payloadPath, 'utf8');
// runInWorker as the limits require; @extism/extism 1.0.3 has no timeout option, so `timeoutMs`
// is passed as asked and ignored: the peer enforces no limit at all.
const options = { useWasi: false, runInWorker: true, timeoutMs: Number(timeoutArg) };
const plugins = [];
for (let i = 0; i < Number(pluginsArg); i++) plugins.push(await createPlugin({ wasm: [{ data }] }, options));
const echoed = (await plugins[0].call('echo', payload))?.text();
if (echoed !== payload) throw new Error(`extism echo is wrong: ${echoed}`);

async function measure(call, concurrency) {
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) await call(plugins[0]);
  const samples = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    await call(plugins[0]);
    samples.push((performance.now() - started) * 1000);
  }
  samples.sort((a, b) => a - b);
  let done = 0;
  const started = performance.now();
  const throughputUntil = started + seconds * 1000;
  // An Extism plugin runs one call at a time: one caller per plugin.
  await Promise.all(plugins.slice(0, concurrency).map(async (plugin) => {
    while (performance.now() < throughputUntil) {
      await call(plugin);
      done++;
    }
  }));
  const at = (p) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))];
  return { p50: at(0.5), p99: at(0.99), opsPerSecond: done / ((performance.now() - started) / 1000) };
}

const result = await measure(async (plugin) => (await plugin.call('echo', payload))?.text(), plugins.length);
for (const plugin of plugins) await plugin.close();
process.stdout.write(JSON.stringify(result) + '\n');
