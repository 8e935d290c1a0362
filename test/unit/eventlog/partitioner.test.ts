import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey } from '../../../src/eventlog/index.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

describe('keyed partitioning', () => {
  it('computes the same murmur2 as kafkajs (Java-compatible) for keys of every length', () => {
    for (let length = 0; length < 64; length++) {
      const key = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length * 11) & 0xff));
      assert.equal(murmur2(key), kafkajsMurmur2(key), `length ${length}`);
    }
  });

  it('picks the partition kafkajs\'s default partitioner picks', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 500; i++) {
      const key = `function-${i}-${'é'.repeat(i % 4)}`;
      for (const count of [1, 3, 8, 12]) {
        const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
        const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        assert.equal(partitionForKey(key, count), expected, `${key} over ${count}`);
        assert.equal(partitionForKey(key, count), expected, `${key} over ${count}, asked again (the remembered answer)`);
      }
    }
  });
});
