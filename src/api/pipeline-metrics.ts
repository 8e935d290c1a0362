import { register as defaultRegistry, type Counter, type Registry } from 'prom-client';
import { counterIn, gaugeIn } from '../observability/index.js';
import type { TopologyDescription } from '../pipeline/index.js';

/*
 * The stream processor's topology on /metrics: the counters `describe()` gives (docs/topology.md)
 * as Prometheus series, read at scrape time, so the pipeline pays nothing per event for them.
 */

type Describe = () => Promise<TopologyDescription>;
type NodeCounter = 'in' | 'out' | 'errors';

interface Source {
  readonly describe: Describe;
  /** What each node's counters were at the last scrape (a pipeline's counters start at 0). */
  readonly seen: Map<string, number>;
  /** One describe() serves every metric of a scrape. */
  pending: { readonly at: number; readonly result: Promise<TopologyDescription | undefined> } | undefined;
}

const sources = new WeakMap<Registry, Source>();
/** The metrics of one scrape are collected one after another within milliseconds. */
const SNAPSHOT_MS = 250;
/** Consumer lag asks the broker: a scrape waits this long for it at most, then goes without. */
const DESCRIBE_TIMEOUT_MS = 2000;

function describeWithin(describe: Describe, ms: number): Promise<TopologyDescription | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  // A scrape must not fail because the pipeline is stopping or the broker is slow: its series are left out then.
  return Promise.race([describe().catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

function snapshot(registry: Registry): Promise<TopologyDescription | undefined> {
  const source = sources.get(registry);
  if (source === undefined) return Promise.resolve(undefined);
  const now = Date.now();
  if (source.pending === undefined || now - source.pending.at > SNAPSHOT_MS) {
    source.pending = { at: now, result: describeWithin(source.describe, DESCRIBE_TIMEOUT_MS) };
  }
  return source.pending.result;
}

/** Adds what each node counted since the last scrape (counters never go down). */
async function collectCounter(registry: Registry, counter: Counter<'node'>, field: NodeCounter): Promise<void> {
  const topology = await snapshot(registry);
  const source = sources.get(registry);
  if (topology === undefined || source === undefined) return;
  for (const node of topology.subTopologies.flatMap((sub) => sub.nodes)) {
    const key = `${field}\u0000${node.name}`;
    // inc(0) too: every node's series exists from the first scrape, so "no events yet" reads as 0.
    counter.inc({ node: node.name }, Math.max(0, node[field] - (source.seen.get(key) ?? 0)));
    source.seen.set(key, node[field]);
  }
}

/**
 * `aerofn_pipeline_node_{in,out,errors}_total`, `aerofn_pipeline_node_in_flight` (per topology
 * node) and `aerofn_pipeline_consumer_lag` (per source partition). A pipeline started later in
 * the same process (a restart after a drain, tests) takes the series over.
 */
export function registerPipelineMetrics(describe: Describe, registry: Registry = defaultRegistry): void {
  sources.set(registry, { describe, seen: new Map(), pending: undefined });
  const counters: Array<[NodeCounter, string]> = [
    ['in', 'Records a pipeline node took in'],
    ['out', 'Records a pipeline node passed on'],
    ['errors', 'Records a pipeline node could not process'],
  ];
  for (const [field, help] of counters) {
    counterIn(registry, {
      name: `aerofn_pipeline_node_${field}_total`,
      help,
      labelNames: ['node'] as const,
      async collect() {
        await collectCounter(registry, this, field);
      },
    });
  }
  gaugeIn(registry, {
    name: 'aerofn_pipeline_node_in_flight',
    help: 'Records inside a pipeline node now',
    labelNames: ['node'] as const,
    async collect() {
      const topology = await snapshot(registry);
      this.reset();
      for (const node of topology?.subTopologies.flatMap((sub) => sub.nodes) ?? []) this.set({ node: node.name }, node.inFlight);
    },
  });
  gaugeIn(registry, {
    name: 'aerofn_pipeline_consumer_lag',
    help: 'Consumer lag: records of a source partition assigned to this instance between its committed offset and the end',
    labelNames: ['topic', 'partition'] as const,
    async collect() {
      const topology = await snapshot(registry);
      this.reset();
      for (const part of topology?.lag ?? []) this.set({ topic: part.topic, partition: String(part.partition) }, part.lag);
    },
  });
}
