import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionError } from '../../../src/errors/index.js';
import { validateDeployInput, validateHostPattern } from '../../../src/registry/index.js';
import { defaults, wasmModule } from './registry-fixtures.js';

const wasm = wasmModule('v');

function badRequest(input: unknown, message: RegExp): void {
  assert.throws(
    () => validateDeployInput(input, defaults),
    (error: unknown) => error instanceof FunctionError && error.kind === 'BadRequest' && message.test(error.message),
  );
}

describe('deploy validation', () => {
  it('fills every omitted setting from the defaults and adds an http trigger', () => {
    const command = validateDeployInput({ name: 'hello', wasm }, defaults);
    assert.deepEqual(command.config, {
      timeoutMs: 10_000,
      memoryMb: 128,
      stackKb: 1024,
      allowedHosts: [],
      allowedEnv: [],
      verifyJwt: true,
      retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 10_000 },
    });
    assert.deepEqual(command.triggers, [{ type: 'http' }]);
    assert.equal(command.enabled, true);
    assert.equal(command.expectedVersion, undefined);
  });

  it('keeps the settings that were given', () => {
    const command = validateDeployInput(
      { name: 'f-1', wasm, config: { timeoutMs: 500, allowedHosts: ['api.example.com', '*.example.org:8443', '10.0.0.1', '[::1]:8080'], allowedEnv: ['API_KEY'], retry: { maxAttempts: 5 } }, triggers: [], expectedVersion: 2 },
      defaults,
    );
    assert.equal(command.config.timeoutMs, 500);
    assert.equal(command.config.memoryMb, 128);
    assert.deepEqual(command.config.retry, { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 10_000 });
    assert.deepEqual(command.triggers, []);
    assert.equal(command.expectedVersion, 2);
  });

  it('accepts DNS-label names and refuses others', () => {
    for (const name of ['a', 'hello-world', 'x1', 'a'.repeat(63)]) validateDeployInput({ name, wasm }, defaults);
    for (const name of ['', 'Hello', '-a', 'a-', 'a_b', 'a.b', 'a'.repeat(64), 7, undefined]) badRequest({ name, wasm }, /name must be 1-63 lowercase/);
  });

  it('names unknown fields instead of ignoring them', () => {
    badRequest({ name: 'f', wasm, colour: 'red' }, /unknown field "colour"/);
    badRequest({ name: 'f', wasm, config: { timeoutMS: 5 } }, /config has unknown field "timeoutMS"/);
    badRequest({ name: 'f', wasm, config: { retry: { attempts: 2 } } }, /config.retry has unknown field "attempts"/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'http', path: '/x' }] }, /triggers\[0\] has unknown field "path"/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: ['INSERT'], filter: [{ column: 'a', equals: 1, regex: 'x' }] }] }, /unknown field "regex"/);
  });

  it('keeps config inside its bounds', () => {
    badRequest({ name: 'f', wasm, config: { timeoutMs: 0 } }, /config.timeoutMs must be a whole number of milliseconds from 1 to 900000/);
    badRequest({ name: 'f', wasm, config: { memoryMb: 5000 } }, /config.memoryMb/);
    badRequest({ name: 'f', wasm, config: { stackKb: 1.5 } }, /config.stackKb/);
    badRequest({ name: 'f', wasm, config: { verifyJwt: 'no' } }, /config.verifyJwt must be true or false/);
    badRequest({ name: 'f', wasm, config: { retry: { initialBackoffMs: 500, maxBackoffMs: 100 } } }, /maxBackoffMs \(100\) must be ≥/);
    badRequest({ name: 'f', wasm, config: { allowedEnv: ['BAD-NAME'] } }, /not an environment variable name/);
    badRequest({ name: 'f', wasm, config: { allowedHosts: ['http://x.com'] } }, /not a host pattern/);
  });

  it('checks host patterns as DESIGN §4.1 lists them', () => {
    for (const ok of ['example.com', 'example.com:443', '*.example.com', '127.0.0.1', '127.0.0.1:5432', '::1', '[::1]', '[fe80::1]:80', 'localhost']) validateHostPattern(ok, 'h');
    for (const bad of ['', 'a b', 'example.com:0', 'example.com:99999', '*', '*.', 'a.*.com', '[zz]:80', 'https://example.com']) {
      assert.throws(() => validateHostPattern(bad, 'h'), FunctionError, bad);
    }
  });

  it('requires the module bytes', () => {
    badRequest({ name: 'f' }, /wasm must be the non-empty bytes/);
    badRequest({ name: 'f', wasm: new Uint8Array() }, /wasm must be the non-empty bytes/);
    badRequest({ name: 'f', wasm: 'AGFzbQ==' }, /wasm must be the non-empty bytes/);
    badRequest(null, /the deploy request must be a JSON object/);
  });
});

describe('trigger validation', () => {
  it('accepts database triggers with operations and filters', () => {
    const command = validateDeployInput(
      {
        name: 'f',
        wasm,
        triggers: [
          { type: 'database', table: 'public.orders', operations: ['INSERT', 'UPDATE'], filter: [{ column: 'status', equals: 'paid' }, { column: 'total', numeric: ['>=', 100] }, { column: 'tag', suffix: '-x' }] },
        ],
      },
      defaults,
    );
    assert.deepEqual(command.triggers[0], {
      type: 'database',
      table: 'public.orders',
      operations: ['INSERT', 'UPDATE'],
      filter: [{ column: 'status', equals: 'paid' }, { column: 'total', numeric: ['>=', 100] }, { column: 'tag', suffix: '-x' }],
    });
  });

  it('refuses bad database triggers with a message that says what to send', () => {
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 'drop table;', operations: ['INSERT'] }] }, /table must be a table name/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: [] }] }, /operations must be a non-empty array/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: ['TRUNCATE'] }] }, /"TRUNCATE" is not one of INSERT, UPDATE, DELETE/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: ['INSERT', 'INSERT'] }] }, /lists an operation twice/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: ['INSERT'], filter: [{ column: 'a', equals: 1, prefix: 'x' }] }] }, /exactly one of/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'database', table: 't', operations: ['INSERT'], filter: [{ column: 'a', numeric: ['~', 1] }] }] }, /numeric has the wrong shape/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'queue' }] }, /type must be "http", "database" or "schedule"/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'http' }, { type: 'http' }] }, /more than once/);
    badRequest({ name: 'f', wasm, triggers: { type: 'http' } }, /triggers must be an array/);
  });

  it('accepts 5- and 6-field cron expressions with an IANA time zone', () => {
    const command = validateDeployInput(
      { name: 'f', wasm, triggers: [{ type: 'schedule', cron: '*/5  * * * *' }, { type: 'schedule', cron: '30 0 3 * * 1-5', timezone: 'America/New_York', catchUp: true }] },
      defaults,
    );
    assert.deepEqual(command.triggers, [
      { type: 'schedule', cron: '*/5 * * * *' },
      { type: 'schedule', cron: '30 0 3 * * 1-5', timezone: 'America/New_York', catchUp: true },
    ]);
  });

  it('refuses bad cron expressions and unknown time zones', () => {
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '* * * *' }] }, /has 4 field\(s\); use 5/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '* * * * * * *' }] }, /has 7 field/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '61 * * * *' }] }, /is not a valid cron expression/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '@daily' }] }, /has 1 field/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '0 * * * *', timezone: 'Mars/Olympus' }] }, /IANA time zone/);
    badRequest({ name: 'f', wasm, triggers: [{ type: 'schedule', cron: '0 * * * *', catchUp: 'yes' }] }, /catchUp must be true or false/);
  });
});
