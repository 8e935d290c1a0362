import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * kafkajs has no assign(): a reader that wants exactly one partition joins a group of its own
 * (a unique group id, never committed) whose assigner hands that member just that partition.
 */
export function singlePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  return () => ({
    name: 'AerofnSinglePartition',
    version: 0,
    async assign({ members }) {
      return members.map(({ memberId }, i) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: i === 0 ? { [topic]: [partition] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'AerofnSinglePartition', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
  });
}
