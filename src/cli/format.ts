import type { FunctionInfoMessage as FunctionInfo, TriggerMessage as Trigger } from '../api/index.js';

/** One-line trigger descriptions for tables: `http`, `db:notes[INSERT]`, `cron:*\/5 * * * *@UTC`. */
export function describeTrigger(trigger: Trigger): string {
  const kind = trigger.kind;
  if (kind === undefined) return '?';
  switch (kind.$case) {
    case 'http':
      return 'http';
    case 'database':
      return `db:${kind.value.table}[${kind.value.operations.join(',')}]${kind.value.filterJson === '' ? '' : '+filter'}`;
    case 'schedule':
      return `cron:${kind.value.cron}${kind.value.timezone === '' ? '' : '@' + kind.value.timezone}`;
  }
}

/** The function as plain JSON for `--json`: the same shape the REST API answers. */
export function functionJson(info: FunctionInfo): Record<string, unknown> {
  return {
    name: info.name,
    version: info.version,
    sha256: info.sha256,
    enabled: info.enabled,
    deployedAt: info.deployedAt,
    deployedBy: info.deployedBy === '' ? null : info.deployedBy,
    config: info.config,
    triggers: info.triggers.map(triggerJson),
  };
}

export function triggerJson(trigger: Trigger): Record<string, unknown> {
  const kind = trigger.kind;
  if (kind === undefined) return {};
  switch (kind.$case) {
    case 'http':
      return { type: 'http' };
    case 'database':
      return {
        type: 'database',
        table: kind.value.table,
        operations: kind.value.operations,
        ...(kind.value.filterJson === '' ? {} : { filter: JSON.parse(kind.value.filterJson) as unknown }),
      };
    case 'schedule':
      return { type: 'schedule', cron: kind.value.cron, ...(kind.value.timezone === '' ? {} : { timezone: kind.value.timezone }), ...(kind.value.catchUp === undefined ? {} : { catchUp: kind.value.catchUp }) };
  }
}
