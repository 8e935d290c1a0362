import type { Command } from 'commander';
import { globalOptions, printJson, withClient } from '../cli-context.js';
import { describeTrigger, functionJson } from '../format.js';
import { prepareDeploy, type DeployFlags } from '../deploy-input.js';
import { startProgress } from '../progress.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerDeployCommand(program: Command): void {
  program
    .command('deploy')
    .description('deploy a function from a .wasm file, an aerofn.json manifest, or a folder with one')
    .argument('<path>', 'module.wasm, aerofn.json, or a folder holding aerofn.json')
    .option('-n, --name <name>', 'function name (default: the manifest\'s, else the file name)')
    .option('-t, --trigger <trigger>', 'http | database:TABLE[:INSERT,UPDATE,DELETE] | schedule:CRON[@ZONE] (repeatable)', collect)
    .option('--timeout-ms <ms>', 'wall-clock limit per invocation')
    .option('--memory-mb <mb>', 'linear-memory limit')
    .option('--stack-kb <kb>', 'stack limit')
    .option('--allow-host <host>', 'http_fetch allow-list entry (repeatable)', collect)
    .option('--allow-env <name>', 'env allow-list entry (repeatable)', collect)
    .option('--no-verify-jwt', 'let callers without a JWT invoke it (as anon)')
    .option('--expected-version <n>', 'fail with a conflict unless the current version is n (0 = new name)')
    .addHelpText('after', '\nExamples:\n  aerofn deploy sdk/assemblyscript/examples/hello\n  aerofn deploy build/fn.wasm --name thumbs --trigger database:images:INSERT --memory-mb 64')
    .action(async (path: string, flags: DeployFlags, command: Command) => {
      const { json } = globalOptions(command);
      const prepared = await prepareDeploy(path, flags);
      await withClient(command, async (client) => {
        const progress = startProgress(`deploying ${prepared.request.name} (${formatBytes(prepared.request.wasm.length)})`, !json);
        try {
          const { function: info } = await client.deploy(prepared.request);
          progress.done();
          if (info === undefined) throw new Error('the server answered without the function');
          if (json) return printJson(functionJson(info));
          process.stdout.write(`deployed ${info.name} v${info.version} (sha256 ${info.sha256.slice(0, 12)}) triggers: ${info.triggers.map(describeTrigger).join(', ') || 'none'}\n`);
        } catch (error) {
          progress.done();
          throw error;
        }
      });
    });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
