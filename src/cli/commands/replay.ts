import type { Command } from 'commander';
import { FunctionError } from '../../errors/index.js';
import type { ReplayFinding, ReplaySummary } from '../../gen/aerodb/functions/v1/functions.js';
import { printJson, printTable, withClient } from '../cli-context.js';
import { startCountProgress } from '../progress.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description("run a function's recorded invocations again from their journals and compare (service role); exits 1 when one diverged")
    .argument('<name>', 'function name')
    .option('--limit <n>', 'the newest n records (1-1000)', '20')
    .option('--id <invocationId>', 'exactly this invocation (repeatable; `aerofn invocations <name>` lists them)', collect)
    .option('--against <version>', 'recorded: each run\'s own version (audit); current: the version serving now (regression check)', 'recorded')
    .addHelpText('after', '\nExamples:\n  aerofn replay notes\n  aerofn replay notes --against current --limit 100\n  aerofn replay notes --id 3f2c…')
    .action(async (name: string, flags: { limit: string; id?: string[]; against: string }, command: Command) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new FunctionError('BadRequest', `--limit must be a whole number from 1 to 1000, got "${flags.limit}"`);
      if (flags.against !== 'recorded' && flags.against !== 'current') throw new FunctionError('BadRequest', `--against must be recorded or current, got "${flags.against}"`);
      await withClient(command, async (client, json) => {
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        const progress = startCountProgress(`replaying ${name}`, !json);
        const findings: ReplayFinding[] = [];
        let summary: ReplaySummary | undefined;
        try {
          for await (const { event } of client.replay({ name, limit, invocationIds: flags.id ?? [], against: flags.against }, stop.signal)) {
            if (event?.$case === 'started') progress.update(0, event.value.total);
            else if (event?.$case === 'finding') {
              findings.push(event.value);
              progress.update(event.value.done, event.value.total);
            } else if (event?.$case === 'summary') summary = event.value;
          }
        } finally {
          progress.done();
          process.off('SIGINT', onSignal);
        }
        if (summary === undefined) throw new FunctionError('Unavailable', stop.signal.aborted ? 'the replay was cancelled' : 'the server ended the replay without a summary');
        if (summary.diverged > 0) process.exitCode = 1;
        if (json) return printJson({ summary, findings: findings.map(findingJson) });
        if (findings.length === 0) {
          process.stdout.write(`no invocations of ${name} recorded yet to replay (\`aerofn invocations ${name}\` lists what this instance keeps)\n`);
          return;
        }
        printTable(
          ['INVOCATION', 'ATTEMPT', 'VERSION', 'VERDICT', 'DIFFERENCE'],
          findings.map((finding) => [
            finding.invocationId,
            String(finding.attempt),
            finding.replayedVersion === 0 || finding.replayedVersion === finding.recordedVersion ? `v${finding.recordedVersion}` : `v${finding.recordedVersion}→v${finding.replayedVersion}`,
            finding.verdict,
            finding.differences[0] ?? '',
          ]),
        );
        const against = summary.against === 'current' ? 'the current version' : 'the recorded versions';
        process.stdout.write(`replayed ${summary.total} run(s) of ${name} against ${against}: ${summary.matched} match, ${summary.diverged} diverged, ${summary.skipped} skipped\n`);
      });
    });
}

function findingJson(finding: ReplayFinding): Record<string, unknown> {
  return {
    invocationId: finding.invocationId,
    attempt: finding.attempt,
    startedAt: finding.startedAt,
    recordedVersion: finding.recordedVersion,
    replayedVersion: finding.replayedVersion === 0 ? null : finding.replayedVersion,
    verdict: finding.verdict,
    differences: finding.differences,
    recorded: JSON.parse(finding.recordedOutcomeJson) as unknown,
    replayed: finding.replayedOutcomeJson === '' ? null : (JSON.parse(finding.replayedOutcomeJson) as unknown),
    durationMs: finding.durationMs,
  };
}
