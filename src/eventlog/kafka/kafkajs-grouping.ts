import { replaceKafkajsModule } from './kafkajs-modules.js';

/**
 * kafkajs 2.2.4 groups a produce request's messages per partition with
 * `Object.assign(result, { [partition]: [...current, message] })`: quadratic in the messages of
 * one partition (a 1,000-record append to a one-partition topic copies ~500,000 array elements).
 * The stream processor appends its invocation records in batches of up to 2,000 to
 * `aerofn.invocations` (one partition by default), where that was ~5 µs of the main thread per
 * record. This puts the linear version (the same result, the partitioner called in the same
 * order — tulios/kafkajs#1576, unmerged) into the CommonJS module cache before kafkajs loads its
 * producer (kafkajs-modules.ts).
 */
type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;

function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: Partitioner }): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition];
    if (current === undefined) result[partition] = [message];
    else current.push(message);
  }
  return result;
}

replaceKafkajsModule('kafkajs/src/producer/groupMessagesPerPartition.js', () => groupMessagesPerPartition);
