import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FunctionError } from '../../../src/errors/index.js';
import { createModuleStore, moduleChunkBytes, sha256Hex } from '../../../src/registry/module-store.js';
import { openEmbeddedPair } from './embedded-pair.js';
import { largeWasmModule } from './registry-fixtures.js';
import type { LogPair } from './registry-suite.js';

describe('module store (aerofn.modules)', () => {
  const pairs: LogPair[] = [];
  after(async () => {
    for (const pair of pairs) await pair.close();
  });
  async function store() {
    const pair = await openEmbeddedPair();
    pairs.push(pair);
    const modules = createModuleStore({ log: pair.a, topic: `${pair.prefix}aerofn.modules` });
    await modules.ensureTopic();
    return { pair, modules, fresh: () => createModuleStore({ log: pair.a, topic: modules.topic }) };
  }

  it('splits a module into 512 KiB chunks and reads it back on another instance', async () => {
    const { modules, fresh } = await store();
    const bytes = largeWasmModule(3 * moduleChunkBytes + 17);
    const sha = sha256Hex(bytes);
    const ref = await modules.write(sha, bytes);
    assert.deepEqual(ref, { size: bytes.byteLength, chunks: 4, offset: 0 });
    assert.equal(sha256Hex(await fresh().read(sha, ref)), sha);
  });

  it('skips other modules written between two chunks', async () => {
    const { pair, modules, fresh } = await store();
    const bytes = largeWasmModule(2 * moduleChunkBytes + 1);
    const sha = sha256Hex(bytes);
    const writing = modules.write(sha, bytes);
    await pair.a.append(modules.topic, [{ key: `${'f'.repeat(64)}:0`, value: Buffer.from('other'), partition: 0 }]);
    const ref = await writing;
    const keys = (await pair.a.read(modules.topic, 0, 0)).map((record) => record.key?.slice(0, 4));
    assert.deepEqual(keys, [sha.slice(0, 4), 'ffff', sha.slice(0, 4), sha.slice(0, 4)], 'the other record lies between chunks');
    assert.equal(sha256Hex(await fresh().read(sha, ref)), sha);
  });

  it('finds the newest copy by scanning when the hint points elsewhere (compacted away)', async () => {
    const { modules, fresh } = await store();
    const bytes = largeWasmModule(moduleChunkBytes + 5);
    const sha = sha256Hex(bytes);
    await modules.write(sha, bytes);
    const stale = { size: bytes.byteLength, chunks: 2, offset: 99 };
    assert.equal(sha256Hex(await fresh().read(sha, stale)), sha);
  });

  it('answers NotFound for bytes the topic does not hold', async () => {
    const { fresh } = await store();
    await assert.rejects(fresh().read('0'.repeat(64), undefined), (error: unknown) => error instanceof FunctionError && error.kind === 'NotFound');
  });

  it('evicts the least recently used modules past its cache budget', async () => {
    const { pair, modules } = await store();
    const small = createModuleStore({ log: pair.a, topic: modules.topic, cacheBytes: 10 });
    small.remember('a', new Uint8Array(6));
    small.remember('b', new Uint8Array(6));
    assert.equal(small.has('a'), false);
    assert.equal(small.has('b'), true);
  });
});
