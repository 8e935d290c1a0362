import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, describeSettings } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.dataDir, './data');
    assert.equal(config.http.port, 8080);
    assert.equal(config.grpc.port, 50051);
    assert.deepEqual(config.sandbox.defaults, { timeoutMs: 10_000, memoryMb: 128, stackKb: 1024 });
    assert.equal(config.eventLog.kind, 'embedded');
    assert.equal(config.database.url, undefined);
  });

  it('chooses Kafka when brokers are set', () => {
    const config = loadConfig({ AEROFN_KAFKA_BROKERS: 'a:9092, b:9092' });
    assert.equal(config.eventLog.kind, 'kafka');
    assert.deepEqual(config.eventLog.kafkaBrokers, ['a:9092', 'b:9092']);
  });

  it('is frozen all the way down', () => {
    const config = loadConfig({});
    assert.throws(() => ((config.http as { port: number }).port = 1), TypeError);
  });

  it('names the bad setting and what it expects', () => {
    assert.throws(() => loadConfig({ AEROFN_HTTP_PORT: 'eighty' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.setting, 'AEROFN_HTTP_PORT');
      assert.match(error.message, /whole number from 0 to 65535/);
      return true;
    });
    assert.throws(() => loadConfig({ AEROFN_PIPELINE_MODE: 'sometimes' }), /one of at_least_once, exactly_once/);
    assert.throws(() => loadConfig({ AEROFN_PIPELINE_LOW_WATERMARK: '10', AEROFN_PIPELINE_HIGH_WATERMARK: '5' }), /must be below/);
  });

  it('reads an optional JSON file, the environment winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aerofn-config-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ AEROFN_HTTP_PORT: 9000, AEROFN_GRPC_PORT: 9001 }));
    const config = loadConfig({ AEROFN_CONFIG: file, AEROFN_GRPC_PORT: '9002' });
    assert.equal(config.http.port, 9000);
    assert.equal(config.grpc.port, 9002);
    await writeFile(file, '[1]');
    assert.throws(() => loadConfig({ AEROFN_CONFIG: file }), /not a JSON object/);
  });

  it('describes every setting as a markdown table', () => {
    assert.match(describeSettings(), /\| `AEROFN_JWT_SECRET` \|/);
  });
});
