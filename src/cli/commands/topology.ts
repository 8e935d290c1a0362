import type { Command } from 'commander';
import type { TopologyMessage } from '../../api/index.js';
import { printJson, printTable, withClient } from '../cli-context.js';

function snapshotJson(topology: TopologyMessage): unknown {
  return { capturedAt: topology.capturedAt, nodes: topology.nodes, description: JSON.parse(topology.descriptionJson || 'null') as unknown };
}

function printTopology(topology: TopologyMessage): void {
  process.stdout.write(`topology at ${topology.capturedAt}\n`);
  if (topology.nodes.length === 0) {
    process.stdout.write('no stages (the stream processor is not running)\n');
    return;
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
    .action(async (flags: { watch?: boolean; interval: string }, command: Command) => {
      await withClient(command, async (client, json) => {
        if (flags.watch !== true) {
          const topology = await client.describeTopology();
          return json ? printJson(snapshotJson(topology)) : printTopology(topology);
        }
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          for await (const topology of client.watchTopology(Number(flags.interval), stop.signal)) {
            if (json) process.stdout.write(JSON.stringify(snapshotJson(topology)) + '\n');
            else printTopology(topology);
          }
        } finally {
          process.off('SIGINT', onSignal);
        }
      });
    });
}
