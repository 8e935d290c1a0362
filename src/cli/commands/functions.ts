import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FunctionError } from '../../errors/index.js';
import { printJson, printTable, withClient } from '../cli-context.js';
import { describeTrigger, functionJson } from '../format.js';

async function readPayload(payload: string | undefined, dataFile: string | undefined): Promise<string> {
  let text = payload;
  if (dataFile !== undefined) text = dataFile === '-' ? await readStdin() : await readFile(dataFile, 'utf8');
  if (text === undefined || text.trim() === '') return 'null';
  try {
    JSON.parse(text);
  } catch (error) {
    throw new FunctionError('BadRequest', `the payload is not JSON (${(error as Error).message}); quote it, e.g. aerofn invoke hello '{"name":"Ada"}'`);
  }
  return text;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerFunctionCommands(program: Command): void {
  program
    .command('invoke')
    .description('run a function with a JSON payload and print its output')
    .argument('<name>', 'function name')
    .argument('[payload]', 'JSON payload (default null)')
    .option('-d, --data <file>', 'read the payload from a file, or - for stdin')
    .action(async (name: string, payload: string | undefined, flags: { data?: string }, command: Command) => {
      const input = await readPayload(payload, flags.data);
      await withClient(command, async (client, json) => {
        const response = await client.invoke(name, input);
        if (json) return printJson({ invocationId: response.invocationId, version: response.version, durationMs: response.durationMs, output: JSON.parse(response.output) as unknown });
        process.stdout.write(JSON.stringify(JSON.parse(response.output), null, 2) + '\n');
      });
    });

  program
    .command('ls')
    .alias('list')
    .description('list the deployed functions')
    .action(async (_flags: unknown, command: Command) => {
      await withClient(command, async (client, json) => {
        const { functions, stateHash } = await client.listFunctions();
        if (json) return printJson({ functions: functions.map(functionJson), stateHash });
        if (functions.length === 0) {
          process.stdout.write('no functions deployed; try `aerofn deploy sdk/assemblyscript/examples/hello`\n');
          return;
        }
        printTable(
          ['NAME', 'VERSION', 'ENABLED', 'TRIGGERS', 'SHA256', 'DEPLOYED'],
          functions.map((fn) => [fn.name, String(fn.version), fn.enabled ? 'yes' : 'no', fn.triggers.map(describeTrigger).join(' ') || '-', fn.sha256.slice(0, 12), fn.deployedAt]),
        );
      });
    });

  program
    .command('get')
    .description('show one function: version, limits, triggers')
    .argument('<name>', 'function name')
    .action(async (name: string, _flags: unknown, command: Command) => {
      await withClient(command, async (client, json) => {
        const info = await client.getFunction(name);
        if (json) return printJson(functionJson(info));
        const config = info.config;
        const rows: Array<[string, string]> = [
          ['name', info.name],
          ['version', String(info.version)],
          ['enabled', info.enabled ? 'yes' : 'no'],
          ['sha256', info.sha256],
          ['deployed', `${info.deployedAt}${info.deployedBy === '' ? '' : ' by ' + info.deployedBy}`],
          ['triggers', info.triggers.map(describeTrigger).join(', ') || 'none (invoke API only)'],
          ['timeout', `${config?.timeoutMs ?? '?'} ms`],
          ['memory', `${config?.memoryMb ?? '?'} MB`],
          ['stack', `${config?.stackKb ?? '?'} KB`],
          ['verify JWT', config?.verifyJwt === false ? 'no' : 'yes'],
          ['allowed hosts', config?.allowedHosts.join(', ') || '-'],
          ['allowed env', config?.allowedEnv.join(', ') || '-'],
        ];
        const width = Math.max(...rows.map(([key]) => key.length));
        for (const [key, value] of rows) process.stdout.write(`${key.padEnd(width)}  ${value}\n`);
      });
    });

  program
    .command('rm')
    .alias('undeploy')
    .description('undeploy a function (its history stays in the registry)')
    .argument('<name>', 'function name')
    .option('--expected-version <n>', 'fail with a conflict unless the current version is n')
    .action(async (name: string, flags: { expectedVersion?: string }, command: Command) => {
      const expected = flags.expectedVersion === undefined ? undefined : Number(flags.expectedVersion);
      if (expected !== undefined && !Number.isInteger(expected)) throw new FunctionError('BadRequest', '--expected-version must be a whole number');
      await withClient(command, async (client, json) => {
        const removed = await client.undeploy(name, expected);
        if (json) return printJson(removed);
        process.stdout.write(`undeployed ${removed.name} (was v${removed.version})\n`);
      });
    });
}
