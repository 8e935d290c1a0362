import type { Command } from 'commander';
import { describeSettings } from '../../config/index.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the service: REST, gRPC, the registry and the stream processor (settings from the environment)')
    .addHelpText('after', `\nSettings (environment, or a JSON file named by AEROFN_CONFIG):\n${describeSettings()}`)
    .action(async () => {
      // Loaded on demand: the other commands are clients and should start fast.
      const { serve } = await import('../../main.js');
      await serve();
    });
}
