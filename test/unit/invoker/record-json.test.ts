import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serviceRoleContext } from '../../../src/auth/index.js';
import { invocationRecordJson, type InvocationRecord, type TriggerType } from '../../../src/invoker/index.js';

const triggers: TriggerType[] = ['http', 'grpc', 'cli', 'database', 'schedule', 'replay'];
// Strings with quotes, backslashes, control characters, non-ASCII and lone surrogates.
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u0000\u001f', '\ud800', 'é€😀', '</script>'));
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53));
const json = fc.jsonValue();

/** A record with its fields in the order the invoker builds them (InvocationRecord's order). */
const anyRecord = (claims: fc.Arbitrary<Readonly<Record<string, unknown>>>): fc.Arbitrary<InvocationRecord> =>
  fc
    .record({
      id: anyText,
      function: anyText,
      version: anyNumber,
      sha256: anyText,
      trigger: fc.constantFrom(...triggers),
      source: fc.option(fc.record({ topic: anyText, partition: anyNumber, offset: anyNumber }), { nil: null }),
      input: anyText,
      contextFunction: anyText,
      contextVersion: anyNumber,
      role: anyText,
      sub: fc.option(anyText, { nil: null }),
      claims,
      attempt: anyNumber,
      now: anyNumber,
      journal: fc.array(fc.record({ fn: anyText, request: anyText, response: anyText, durationMs: anyNumber }), { maxLength: 3 }),
      outcome: fc.oneof(
        fc.record({ ok: fc.constant(true as const), output: anyText }),
        fc.record({ ok: fc.constant(false as const), error: fc.record({ kind: anyText, message: anyText, retriable: fc.boolean(), details: json }) }),
      ),
      startedAt: anyText,
      durationMs: anyNumber,
      memoryBytes: anyNumber,
    })
    .map((r) => ({
      id: r.id,
      function: r.function,
      version: r.version,
      sha256: r.sha256,
      trigger: r.trigger,
      source: r.source,
      input: r.input,
      context: { invocationId: r.id, function: r.contextFunction, version: r.contextVersion, trigger: r.trigger, role: r.role, sub: r.sub, claims: r.claims, attempt: r.attempt, now: r.now },
      journal: r.journal,
      outcome: r.outcome,
      attempt: r.attempt,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      memoryBytes: r.memoryBytes,
    }) as unknown as InvocationRecord);

describe('invocationRecordJson', () => {
  it('writes what JSON.stringify writes, for any record', () => {
    fc.assert(
      fc.property(anyRecord(fc.dictionary(fc.string(), json)), (record) => {
        assert.equal(invocationRecordJson(record), JSON.stringify(record));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes what JSON.stringify writes when records share frozen claims but differ in everything else', () => {
    // The shared parts are kept per frozen claims object: each record here reuses or replaces them.
    const shared = [serviceRoleContext.claims, Object.freeze({ role: 'authenticated', app: Object.freeze({ tier: 'gold' }) })];
    fc.assert(
      fc.property(fc.array(anyRecord(fc.constantFrom(...shared)), { minLength: 2, maxLength: 20 }), (records) => {
        for (const record of records) assert.equal(invocationRecordJson(record), JSON.stringify(record));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves a record that is not whole to JSON.stringify (fields missing, undefined or of another type)', () => {
    const partial = [
      { id: 'id-1', function: 'f', source: { topic: 't', partition: 0, offset: 1 } },
      { id: 'id-2', function: 'f', version: 1, sha256: 's', trigger: 'http', source: null, input: '{}', context: undefined, journal: [], outcome: { ok: true, output: 'null' }, attempt: 1, startedAt: 'x', durationMs: 1, memoryBytes: 2 },
      { id: 'id-3', function: 'f', version: '1', sha256: 's', trigger: 'http', source: null, input: '{}', journal: [], outcome: { ok: true }, attempt: 1, startedAt: 'x', durationMs: 1, memoryBytes: 2 },
    ];
    for (const record of partial) assert.equal(invocationRecordJson(record as unknown as InvocationRecord), JSON.stringify(record));
  });

  it('does not keep the text of claims that can still change', () => {
    const claims: Record<string, unknown> = { role: 'authenticated', tier: 'gold' };
    const nested = Object.freeze({ role: 'authenticated', app: { tier: 'gold' } });
    const record = (of: Readonly<Record<string, unknown>>): InvocationRecord => ({
      id: 'i', function: 'f', version: 1, sha256: 's', trigger: 'http', source: null, input: '{}',
      context: { invocationId: 'i', function: 'f', version: 1, trigger: 'http', role: 'authenticated', sub: 'u', claims: of, attempt: 1, now: 5 },
      journal: [], outcome: { ok: true, output: 'null' }, attempt: 1, startedAt: '2026-11-28T00:00:00.000Z', durationMs: 1, memoryBytes: 2,
    });
    assert.equal(invocationRecordJson(record(claims)), JSON.stringify(record(claims)));
    claims['tier'] = 'silver';
    assert.equal(invocationRecordJson(record(claims)), JSON.stringify(record(claims)));
    assert.equal(invocationRecordJson(record(nested)), JSON.stringify(record(nested)));
    (nested['app'] as Record<string, unknown>)['tier'] = 'silver';
    assert.equal(invocationRecordJson(record(nested)), JSON.stringify(record(nested)));
  });
});
