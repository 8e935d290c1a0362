import type { Command } from 'commander';
import { FunctionError } from '../../errors/index.js';
import { printJson, printTable, withClient } from '../cli-context.js';
import { describeTrigger, functionJson } from '../format.js';

export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('the registry\'s audit trail and past states');

  registry
    .command('history')
    .description('registry events, oldest first (all functions, or one)')
    .argument('[name]', 'only this function')
    .option('--limit <n>', 'only the newest n events')
    .action(async (name: string | undefined, flags: { limit?: string }, command: Command) => {
      const limit = flags.limit === undefined ? 0 : Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new FunctionError('BadRequest', '--limit must be a whole number');
      await withClient(command, async (client, json) => {
        const { events } = await client.registryHistory(name ?? '', limit);
        if (json) return printJson({ events });
        if (events.length === 0) {
          process.stdout.write(name === undefined ? 'the registry is empty\n' : `no events for ${name}\n`);
          return;
        }
        printTable(
          ['OFFSET', 'AT', 'EVENT', 'NAME', 'VERSION', 'BY', 'RESULT'],
          events.map((e) => [String(e.offset), e.at, e.type, e.name, String(e.version), e.by || '-', e.accepted ? 'applied' : `rejected: ${e.reason}`]),
        );
      });
    });

  registry
    .command('at')
    .description('the registry as it was after a log offset or at a time')
    .argument('<point>', 'a registry offset (e.g. 12) or an ISO time (e.g. 2026-01-31T12:00:00Z)')
    .action(async (point: string, _flags: unknown, command: Command) => {
      if (!/^\d+$/.test(point) && Number.isNaN(Date.parse(point))) {
        throw new FunctionError('BadRequest', `"${point}" is neither an offset nor a time; use e.g. 12 or 2026-01-31T12:00:00Z`);
      }
      const at: { offset: number } | { time: string } = /^\d+$/.test(point) ? { offset: Number(point) } : { time: point };
      await withClient(command, async (client, json) => {
        const snapshot = await client.registryAt(at);
        if (json) return printJson({ functions: snapshot.functions.map(functionJson), stateHash: snapshot.stateHash, throughOffset: snapshot.throughOffset });
        process.stdout.write(`registry through offset ${snapshot.throughOffset} (state ${snapshot.stateHash.slice(0, 16)})\n`);
        if (snapshot.functions.length === 0) {
          process.stdout.write('no functions at that point\n');
          return;
        }
        printTable(
          ['NAME', 'VERSION', 'ENABLED', 'TRIGGERS', 'SHA256'],
          snapshot.functions.map((fn) => [fn.name, String(fn.version), fn.enabled ? 'yes' : 'no', fn.triggers.map(describeTrigger).join(' ') || '-', fn.sha256.slice(0, 12)]),
        );
      });
    });
}
