import type { Command } from 'commander';
import type { TopologyMessage } from '../../api/index.js';
import { printJson, printTable, withClient } from '../cli-context.js';

function snapshotJson(topology: TopologyMessage): unknown {
  return { capturedAt: topology.capturedAt, nodes: topology.nodes, description: JSON.parse(topology.descriptionJson || 'null') as unknown };
}

/** The parts of the pipeline's describe() JSON (descriptionJson) that the table does not carry. */
interface DescriptionExtras {
  readonly text?: string;
  readonly state?: string;
  readonly mode?: string;
  readonly groupId?: string;
  readonly lag?: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly lag: number }>;
  readonly totalLag?: number;
}

function descriptionOf(topology: TopologyMessage): DescriptionExtras | null {
  return JSON.parse(topology.descriptionJson || 'null') as DescriptionExtras | null;
}

function printTopology(topology: TopologyMessage, options: { text: boolean }): void {
  const description = descriptionOf(topology);
  if (options.text) {
    // The same text as the page's Description and the pipeline's describeText().
    process.stdout.write(description?.text ?? 'no stages (the stream processor is not running)\n');
    return;
  }
  process.stdout.write(`topology at ${topology.capturedAt}\n`);
  if (topology.nodes.length === 0) {
    process.stdout.write('no stages (the stream processor is not running)\n');
    return;
  }
  if (description !== null) {
    const partitions = (description.lag ?? []).map((part) => `${part.topic}/${part.partition}=${part.lag}`).join(' ');
    process.stdout.write(`pipeline ${description.state ?? '?'}  mode ${description.mode ?? '?'}  group ${description.groupId ?? '?'}  lag ${description.totalLag ?? 0}${partitions === '' ? '' : ` (${partitions})`}\n`);
  }
  printTable(
    ['STAGE', 'TYPE', 'INPUTS', 'METRICS'],
    topology.nodes.map((node) => [
      node.name,
      node.type,
      node.inputs.join(',') || '-',
      node.metrics
        .map(({ name: key, value }) => `${key}=${Number.isInteger(value) ? value : value.toFixed(2)}`)
        .join(' '),
    ]),
  );
}

export function registerTopologyCommand(program: Command): void {
  program
    .command('topology')
    .description('the stream processor\'s stages with their counters, latency and lag')
    .option('-w, --watch', 'keep printing snapshots until Ctrl-C')
    .option('--interval <ms>', 'snapshot interval for --watch', '1000')
    .option('--text', 'print the Kafka-Streams-like description (sources, processors, sinks, edges) instead of the table')
    .action(async (flags: { watch?: boolean; interval: string; text?: boolean }, command: Command) => {
      const text = flags.text === true;
      await withClient(command, async (client, json) => {
        if (flags.watch !== true) {
          const topology = await client.describeTopology();
          return json ? printJson(snapshotJson(topology)) : printTopology(topology, { text });
        }
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          for await (const topology of client.watchTopology(Number(flags.interval), stop.signal)) {
            if (json) process.stdout.write(JSON.stringify(snapshotJson(topology)) + '\n');
            else printTopology(topology, { text });
          }
        } finally {
          process.off('SIGINT', onSignal);
        }
      });
    });
}
