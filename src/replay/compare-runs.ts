import type { InvocationOutcome, InvocationRecord } from '../invoker/index.js';

const MAX_SHOWN = 160;
/** A request, answer or output as a finding quotes it: its start and its length when it is long. */
export const shown = (text: string): string => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} chars)` : text);

function describe(outcome: InvocationOutcome): string {
  return outcome.ok ? `ok with ${shown(outcome.output)}` : `${outcome.error.kind} (${shown(outcome.error.message)})`;
}

/**
 * What differs between a recorded run and its replay: the outcome (the output text, or the error
 * kind: error messages carry times and sizes that may differ) and the journal, call by call (log
 * lines, context() reads and host calls, by function and request). Empty when they agree.
 */
export function compareRuns(recorded: InvocationRecord, replayed: InvocationRecord, options: { readonly journal: boolean }): string[] {
  const differences: string[] = [];
  const before = recorded.outcome;
  const after = replayed.outcome;
  if (before.ok && after.ok) {
    if (before.output !== after.output) differences.push(`output: recorded ${shown(before.output)}, replayed ${shown(after.output)}`);
  } else if (before.ok !== after.ok || (!before.ok && !after.ok && before.error.kind !== after.error.kind)) {
    differences.push(`outcome: recorded ${describe(before)}, replayed ${describe(after)}`);
  }
  if (options.journal) {
    const length = Math.max(recorded.journal.length, replayed.journal.length);
    for (let i = 0; i < length; i++) {
      const was = recorded.journal[i];
      const now = replayed.journal[i];
      if (was !== undefined && now !== undefined && was.fn === now.fn && was.request === now.request) continue;
      const side = (entry: typeof was): string => (entry === undefined ? 'nothing' : `${entry.fn} ${shown(entry.request)}`);
      differences.push(`journal entry ${i + 1}: recorded ${side(was)}, replayed ${side(now)}`);
      break;
    }
  }
  return differences;
}
