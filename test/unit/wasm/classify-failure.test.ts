import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure, nearCapBytes, type FailureEvidence } from '../../../src/wasm/index.js';

const MiB = 1024 * 1024;
const evidence = (over: Partial<FailureEvidence>): FailureEvidence => ({
  error: new WebAssembly.RuntimeError('unreachable'),
  memoryBytes: MiB,
  capBytes: 128 * MiB,
  abortMessage: undefined,
  hostFailure: undefined,
  ...over,
});

describe('classifyFailure: the rules of docs/sandbox.md, in order', () => {
  it('calls V8 stack exhaustion StackOverflow, even right after a failed host call', () => {
    const error = new RangeError('Maximum call stack size exceeded');
    assert.equal(classifyFailure(evidence({ error })).kind, 'StackOverflow');
    assert.equal(classifyFailure(evidence({ error, hostFailure: 'db_query failed: x' })).kind, 'StackOverflow');
  });

  it('calls a trap after a failed host call HostFunctionError, even near the memory cap', () => {
    const classified = classifyFailure(evidence({ hostFailure: 'db_query answered {"error":{}}', memoryBytes: 128 * MiB }));
    assert.equal(classified.kind, 'HostFunctionError');
    assert.match(classified.message, /db_query answered/);
  });

  it('calls V8 memory errors and memory abort messages OutOfMemory wherever the memory is', () => {
    assert.equal(classifyFailure(evidence({ error: new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded') })).kind, 'OutOfMemory');
    assert.equal(classifyFailure(evidence({ error: new RangeError('Array buffer allocation failed') })).kind, 'OutOfMemory');
    assert.equal(classifyFailure(evidence({ error: new Error('abort: x'), abortMessage: 'Allocation too large at ~lib/rt/tlsf.ts:1:1' })).kind, 'OutOfMemory');
  });

  it('calls a trap within max(1 MiB, cap / 8) of the cap OutOfMemory, and one further away RuntimePanic', () => {
    assert.equal(nearCapBytes(128 * MiB), 16 * MiB);
    assert.equal(nearCapBytes(2 * MiB), MiB);
    assert.equal(classifyFailure(evidence({ memoryBytes: 128 * MiB - 15 * MiB })).kind, 'OutOfMemory');
    assert.equal(classifyFailure(evidence({ memoryBytes: 128 * MiB - 17 * MiB })).kind, 'RuntimePanic');
    assert.equal(classifyFailure(evidence({ memoryBytes: 0, capBytes: 0 })).kind, 'RuntimePanic', 'no cap known: no inference');
  });

  it('reports any other abort and trap as RuntimePanic with the message', () => {
    const aborted = classifyFailure(evidence({ error: new Error('abort: boom'), abortMessage: 'boom at a.ts:7:3' }));
    assert.deepEqual(aborted, { kind: 'RuntimePanic', message: 'the function aborted: boom at a.ts:7:3' });
    assert.match(classifyFailure(evidence({ error: new WebAssembly.RuntimeError('divide by zero') })).message, /trapped: RuntimeError: divide by zero/);
  });
});
