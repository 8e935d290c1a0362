import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abiProblems } from '../../../sdk/assemblyscript/scripts/build.mjs';
import { checkModule } from '../../../src/wasm/index.js';
import { watToWasm } from '../../fixtures/wasm/compile-fixture.js';
import { runGuest, wasm, type WasmModule } from './guest-host.js';

// docs/sdk.md shows the ABI as a WAT module for other languages; this keeps that block working.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let bytes: Uint8Array;
let module: WasmModule;

describe('the WAT example in docs/sdk.md', () => {
  before(async () => {
    const doc = readFileSync(join(root, 'docs/sdk.md'), 'utf8');
    const match = /```wat\n([\s\S]*?)```/.exec(doc);
    assert.ok(match?.[1], 'docs/sdk.md has no ```wat block');
    bytes = await watToWasm(match[1], 'docs-sdk.wat');
    module = new wasm.Module(bytes);
  });

  it('passes the build check and the sandbox\'s module check', () => {
    assert.deepEqual(abiProblems(bytes), []);
    const checked = checkModule(bytes, { memoryMb: 16 });
    assert.deepEqual(checked.hostImports, ['log']);
  });

  it('logs its input at info and returns it', () => {
    const run = runGuest(module, '{"hello":"wörld"}');
    assert.equal(run.output, '{"hello":"wörld"}');
    assert.deepEqual(run.calls.map((c) => [c.fn, c.level, c.request]), [['log', 1, '{"hello":"wörld"}']]);
  });

  it('grows its memory for inputs larger than the first page', () => {
    const input = JSON.stringify({ blob: 'x'.repeat(300_000) });
    assert.equal(runGuest(module, input).output, input);
  });
});
