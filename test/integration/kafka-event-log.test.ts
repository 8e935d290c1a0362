import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs, { Kafka, logLevel, Partitioners } from 'kafkajs';
import { openKafkaEventLog, partitionForKey, type EventLog } from '../../src/eventlog/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { eventLogSuite, readAll } from '../conformance/event-log.suite.js';

const brokers = (process.env['AEROFN_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const open = (): Promise<EventLog> => openKafkaEventLog({ brokers, clientId: 'aerofn-test', logger: silentLogger() });

eventLogSuite('kafka', open);

describe('Kafka adapter on a real broker', () => {
  let log: EventLog;
  const kafka = new Kafka({ clientId: 'aerofn-test-peer', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  before(async () => {
    log = await open();
    await admin.connect();
  });
  after(async () => {
    await log.close();
    await admin.disconnect();
  });

  it('creates topics with their partitions, cleanup policy, record size limit and retention', async () => {
    const compacted = `kafka.cfg.c.${randomUUID().slice(0, 8)}`;
    const audit = `kafka.cfg.a.${randomUUID().slice(0, 8)}`;
    await log.ensureTopic({ name: compacted, partitions: 3, compacted: true, maxMessageBytes: 33_554_432 });
    await log.ensureTopic({ name: audit });
    await log.ensureTopic({ name: audit }); // again: no error, nothing changes
    const { topics } = await admin.fetchTopicMetadata({ topics: [compacted, audit] });
    assert.deepEqual(topics.map((t) => t.partitions.length).sort(), [1, 3]);
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [compacted, audit].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'max.message.bytes', 'retention.ms'] })),
    });
    const config = (name: string) => Object.fromEntries(resources.find((r) => r.resourceName === name)!.configEntries.map((e) => [e.configName, e.configValue]));
    assert.equal(config(compacted)['cleanup.policy'], 'compact');
    assert.equal(config(compacted)['max.message.bytes'], '33554432');
    assert.equal(config(audit)['cleanup.policy'], 'delete');
    assert.equal(config(audit)['retention.ms'], '-1');
  });

  it('reads what a plain kafkajs producer wrote, on the partition kafkajs chose for each key', async () => {
    const topic = `kafka.interop.${randomUUID().slice(0, 8)}`;
    await log.ensureTopic({ name: topic, partitions: 4 });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `row-${i}`);
    await producer.send({ topic, messages: keys.map((key) => ({ key, value: `from-kafkajs-${key}`, headers: { origin: 'peer' } })) });
    await producer.disconnect();
    const found = new Map<string, number>();
    for (let p = 0; p < 4; p++) for (const r of await readAll(log, topic, p, 0)) found.set(r.key!, r.partition);
    assert.equal(found.size, 20);
    for (const key of keys) assert.equal(found.get(key), partitionForKey(key, 4), key);
  });
});
