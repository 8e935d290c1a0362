import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { errorTable, functionErrorKinds, FunctionError, toFunctionError } from '../../src/errors/index.js';

describe('error table', () => {
  it('maps every kind to an HTTP status, a gRPC code and a unique code', () => {
    const codes = new Set<string>();
    for (const kind of functionErrorKinds) {
      const row = errorTable[kind];
      assert.ok(row, `${kind} has no row`);
      assert.ok(row.http >= 400 && row.http < 600, `${kind} has HTTP ${row.http}`);
      assert.ok(row.grpc > 0, `${kind} maps to gRPC OK`);
      assert.ok(!codes.has(row.code), `${row.code} is used twice`);
      codes.add(row.code);
    }
    assert.equal(Object.keys(errorTable).length, functionErrorKinds.length);
  });

  it('keeps the statuses the design promises', () => {
    const expected = { NotFound: 404, InvalidWasm: 400, Timeout: 504, OutOfMemory: 507, StackOverflow: 500, HostFunctionError: 500, RuntimePanic: 500 };
    for (const [kind, http] of Object.entries(expected)) {
      assert.equal(errorTable[kind as keyof typeof errorTable].http, http, kind);
    }
  });

  it('documents every kind in docs/errors.md with its code and status', async () => {
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const kind of functionErrorKinds) {
      const row = errorTable[kind];
      assert.match(doc, new RegExp(`^## ${kind}$`, 'm'), `docs/errors.md lacks a section for ${kind}`);
      assert.match(doc, new RegExp(`\\| ${kind} \\| ${row.code} \\| ${row.http} \\|`), `docs/errors.md table row for ${kind} is wrong`);
    }
  });
});

describe('FunctionError', () => {
  it('serialises kind, code and status and survives a round trip through JSON', () => {
    const error = new FunctionError('Timeout', 'ran past 10 ms', { details: { timeoutMs: 10 } });
    const json = JSON.parse(JSON.stringify(error));
    assert.deepEqual(json, { kind: 'Timeout', code: 'AEROFN_TIMEOUT', httpStatus: 504, message: 'ran past 10 ms', details: { timeoutMs: 10 } });
    const back = FunctionError.fromJSON(json);
    assert.equal(back.kind, 'Timeout');
    assert.equal(back.retriable, true);
  });

  it('wraps foreign errors as RuntimePanic unless told otherwise', () => {
    assert.equal(toFunctionError(new Error('boom')).kind, 'RuntimePanic');
    assert.equal(toFunctionError('x', 'HostFunctionError').kind, 'HostFunctionError');
    const original = new FunctionError('NotFound', 'no');
    assert.equal(toFunctionError(original), original);
  });

  it('turns an unknown kind from the wire into RuntimePanic', () => {
    assert.equal(FunctionError.fromJSON({ kind: 'Nope', message: 'm' }).kind, 'RuntimePanic');
  });
});
