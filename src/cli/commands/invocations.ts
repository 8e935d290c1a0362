import type { Command } from 'commander';
import { FunctionError } from '../../errors/index.js';
import { printJson, printTable, withClient } from '../cli-context.js';

export function registerInvocationsCommand(program: Command): void {
  program
    .command('invocations')
    .description("a function's recent invocation records, newest first (service role)")
    .argument('<name>', 'function name')
    .option('--limit <n>', 'at most n records (1-1000)', '20')
    .action(async (name: string, flags: { limit: string }, command: Command) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new FunctionError('BadRequest', `--limit must be a whole number from 1 to 1000, got "${flags.limit}"`);
      await withClient(command, async (client, json) => {
        const { invocations } = await client.listInvocations(name, limit);
        // --json: the records themselves (DESIGN §4.6), as GET /functions/v1/{name}/invocations gives them.
        if (json) return printJson({ invocations: invocations.map((summary) => JSON.parse(summary.recordJson) as unknown) });
        if (invocations.length === 0) {
          process.stdout.write(`no invocations of ${name} recorded yet (this instance lists the ones it ran or read back from the log)\n`);
          return;
        }
        printTable(
          ['STARTED', 'ID', 'VERSION', 'TRIGGER', 'ATTEMPT', 'OUTCOME', 'DURATION'],
          invocations.map((i) => [i.startedAt, i.id, String(i.version), i.trigger, String(i.attempt), i.ok ? 'ok' : i.errorKind, `${i.durationMs.toFixed(2)} ms`]),
        );
      });
    });
}
