import type { StageSnapshot, StageStats } from './stage-stats.js';

export type NodeKind = 'source' | 'processor' | 'sink';

export interface TopologyNode {
  readonly name: string;
  readonly kind: NodeKind;
  /** Source: topics (or a pattern) it reads; sink: the topic it writes. */
  readonly topics?: readonly string[];
  readonly successors: readonly string[];
  readonly stats: StageStats;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** The JSON form of describe(): nodes with counters, edges, and consumer lag per partition. */
export interface TopologyDescription {
  readonly text: string;
  readonly state: string;
  readonly mode: string;
  readonly groupId: string;
  readonly subTopologies: ReadonlyArray<{
    readonly id: number;
    readonly nodes: ReadonlyArray<StageSnapshot & { readonly kind: NodeKind; readonly topics: readonly string[]; readonly successors: readonly string[]; readonly predecessors: readonly string[] }>;
  }>;
  readonly lag: readonly PartitionLag[];
  readonly totalLag: number;
}

function predecessorsOf(nodes: readonly TopologyNode[], name: string): string[] {
  return nodes.filter((node) => node.successors.includes(name)).map((node) => node.name);
}

/**
 * Text in the shape of Kafka Streams' `Topology#describe()`:
 *   Sub-topology: 0
 *     Source: change-source (topics: [aerodb.changes])
 *       --> decode
 *     Processor: decode (stores: [])
 *       --> loop-guard, dlq-sink
 *       <-- change-source
 */
export function renderTopology(nodes: readonly TopologyNode[]): string {
  const lines = ['Topologies:', '   Sub-topology: 0'];
  for (const node of nodes) {
    const predecessors = predecessorsOf(nodes, node.name);
    if (node.kind === 'source') lines.push(`    Source: ${node.name} (topics: [${(node.topics ?? []).join(', ')}])`);
    else if (node.kind === 'sink') lines.push(`    Sink: ${node.name} (topic: ${(node.topics ?? []).join(', ')})`);
    else lines.push(`    Processor: ${node.name} (stores: [])`);
    if (node.successors.length > 0) lines.push(`      --> ${node.successors.join(', ')}`);
    if (predecessors.length > 0) lines.push(`      <-- ${predecessors.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

export function describeTopology(
  nodes: readonly TopologyNode[],
  extra: { state: string; mode: string; groupId: string; lag: readonly PartitionLag[] },
): TopologyDescription {
  return {
    text: renderTopology(nodes),
    state: extra.state,
    mode: extra.mode,
    groupId: extra.groupId,
    subTopologies: [
      {
        id: 0,
        nodes: nodes.map((node) => ({
          ...node.stats.snapshot(),
          kind: node.kind,
          topics: node.topics ?? [],
          successors: node.successors,
          predecessors: predecessorsOf(nodes, node.name),
        })),
      },
    ],
    lag: extra.lag,
    totalLag: extra.lag.reduce((sum, part) => sum + part.lag, 0),
  };
}
