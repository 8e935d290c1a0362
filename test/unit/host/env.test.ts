import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createRootLogger } from '../../../src/observability/index.js';
import { createEnv, redactJournalEntry } from '../../../src/wasm/host/index.js';
import { hostContext, utf8 } from './host-context.js';

describe('env host function', () => {
  const environment = { REGION: 'eu-west-1', AEROFN_JWT_SECRET: 'service-secret', DATABASE_URL: 'postgres://x', HIDDEN: 'nope' };
  const env = createEnv({ environment, secretsFor: (name) => (name === 'billing' ? { STRIPE_KEY: 'sk_store' } : undefined) });

  it('answers listed keys from the secrets first, then the environment', async () => {
    const context = hostContext({ functionName: 'billing', config: { allowedEnv: ['REGION', 'API_KEY', 'STRIPE_KEY'] }, secrets: { API_KEY: 'sk_live_123' } });
    assert.equal(await env(utf8('REGION'), context), 'eu-west-1');
    assert.equal(await env(utf8('API_KEY'), context), 'sk_live_123');
    assert.equal(await env(utf8('STRIPE_KEY'), context), 'sk_store');
  });

  it('reads unlisted, unset and inherited-property keys as unset', async () => {
    const context = hostContext({ config: { allowedEnv: ['REGION', 'MISSING', 'constructor'] }, secrets: {} });
    assert.equal(await env(utf8('HIDDEN'), context), null);
    assert.equal(await env(utf8('MISSING'), context), null);
    assert.equal(await env(utf8('constructor'), context), null);
    assert.equal(await env(new Uint8Array([0xff, 0xfe]), context), null);
  });

  it("never hands out the service's own settings from the environment, even when listed", async () => {
    const context = hostContext({ config: { allowedEnv: ['AEROFN_JWT_SECRET', 'DATABASE_URL'] } });
    assert.equal(await env(utf8('AEROFN_JWT_SECRET'), context), null);
    assert.equal(await env(utf8('DATABASE_URL'), context), null);
  });

  it('logs no value and the journal shows [redacted] for an answer', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const logger = createRootLogger({ level: 'trace', destination });
    const context = hostContext({ logger, config: { allowedEnv: ['API_KEY'] }, secrets: { API_KEY: 'sk_live_123' } });
    await env(utf8('API_KEY'), context);
    await env(utf8('OTHER'), context);
    assert.ok(!lines.join('').includes('sk_live_123'));
    const entry = { seq: 1, fn: 'env' as const, request: 'API_KEY', response: 'sk_live_123', startedAt: 0, durationMs: 0 };
    assert.equal(redactJournalEntry(entry).response, '[redacted]');
    assert.equal(redactJournalEntry({ ...entry, response: null }).response, null);
    assert.equal(redactJournalEntry({ ...entry, fn: 'db_query' }).response, 'sk_live_123');
  });
});
