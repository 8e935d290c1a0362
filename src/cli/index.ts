import { Command } from 'commander';
import { printError } from './cli-context.js';
import { registerDeployCommand } from './commands/deploy.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerInvocationsCommand } from './commands/invocations.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRunCommand } from './commands/run.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTopologyCommand } from './commands/topology.js';

/** Builds the `aerofn` program; each command lives in commands/ and registers itself. */
export function createProgram(): Command {
  const program = new Command('aerofn')
    .description('AeroDB Functions: deploy and run WebAssembly functions')
    .option('--url <host:port>', 'gRPC address of the server (env AEROFN_URL, default 127.0.0.1:50051)')
    .option('--token <jwt>', 'JWT sent as "authorization: Bearer" (env AEROFN_TOKEN)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError();
  registerServeCommand(program);
  registerRunCommand(program);
  registerDeployCommand(program);
  registerFunctionCommands(program);
  registerInvocationsCommand(program);
  registerRegistryCommands(program);
  registerReplayCommand(program);
  registerTopologyCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = printError(error, program.opts<{ json?: boolean }>().json === true);
  }
}
