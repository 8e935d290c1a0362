import { Command } from 'commander';
import { registerRunCommand } from './commands/run.js';

/** Builds the `aerofn` program; each command lives in commands/ and registers itself. */
export function createProgram(): Command {
  const program = new Command('aerofn').description('AeroDB Functions: deploy and run WebAssembly functions').showHelpAfterError();
  registerRunCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
