import { FunctionError } from '../../errors/index.js';
import type { DatabaseOperation, FilterPredicate, FunctionDefinition, Trigger } from '../../registry/index.js';
import type * as pb from '../../gen/aerodb/functions/v1/functions.js';
import type { InvocationRecord } from '../../invoker/index.js';
import type { ReplayEvent, ReplayQuery, ReplayTarget } from '../../replay/index.js';
import type { FunctionConfigInput, RegistryHistoryEntry, TopologySnapshot } from '../functions-service.js';

/** Domain values ↔ the generated proto messages. Input is checked here as REST checks it by schema. */
export function toFunctionInfo(definition: FunctionDefinition): pb.FunctionInfo {
  const { config } = definition;
  return {
    name: definition.name,
    version: definition.version,
    sha256: definition.sha256,
    config: {
      timeoutMs: config.timeoutMs,
      memoryMb: config.memoryMb,
      stackKb: config.stackKb,
      allowedHosts: [...config.allowedHosts],
      allowedEnv: [...config.allowedEnv],
      verifyJwt: config.verifyJwt,
      retry: { ...config.retry },
    },
    triggers: definition.triggers.map(toProtoTrigger),
    enabled: definition.enabled,
    deployedAt: definition.deployedAt,
    deployedBy: definition.deployedBy ?? '',
  };
}

export function toProtoTrigger(trigger: Trigger): pb.Trigger {
  switch (trigger.type) {
    case 'http':
      return { kind: { $case: 'http', value: {} } };
    case 'database':
      return {
        kind: {
          $case: 'database',
          value: { table: trigger.table, operations: [...trigger.operations], filterJson: trigger.filter === undefined ? '' : JSON.stringify(trigger.filter) },
        },
      };
    case 'schedule':
      return {
        kind: { $case: 'schedule', value: { cron: trigger.cron, timezone: trigger.timezone ?? '', ...(trigger.catchUp === undefined ? {} : { catchUp: trigger.catchUp }) } },
      };
  }
}

const operations: readonly DatabaseOperation[] = ['INSERT', 'UPDATE', 'DELETE'];

export function fromProtoTrigger(trigger: pb.Trigger, index: number): Trigger {
  const where = `triggers[${index}]`;
  const kind = trigger.kind;
  if (kind === undefined) throw new FunctionError('BadRequest', `${where} sets none of http, database, schedule`);
  switch (kind.$case) {
    case 'http':
      return { type: 'http' };
    case 'database': {
      const { table, filterJson } = kind.value;
      if (table === '') throw new FunctionError('BadRequest', `${where}.database.table is empty`);
      const ops = kind.value.operations.map((op) => op.toUpperCase());
      if (ops.length === 0) throw new FunctionError('BadRequest', `${where}.database.operations is empty: list INSERT, UPDATE and/or DELETE`);
      for (const op of ops) {
        if (!(operations as string[]).includes(op)) throw new FunctionError('BadRequest', `${where}.database.operations has "${op}"; use INSERT, UPDATE or DELETE`);
      }
      const result: { type: 'database'; table: string; operations: DatabaseOperation[]; filter?: FilterPredicate[] } = {
        type: 'database',
        table,
        operations: ops as DatabaseOperation[],
      };
      if (filterJson !== '') result.filter = parseFilter(filterJson, where);
      return result;
    }
    case 'schedule': {
      const { cron, timezone, catchUp } = kind.value;
      if (cron.trim() === '') throw new FunctionError('BadRequest', `${where}.schedule.cron is empty`);
      return { type: 'schedule', cron, ...(timezone === '' ? {} : { timezone }), ...(catchUp === undefined ? {} : { catchUp }) };
    }
  }
}

function parseFilter(text: string, where: string): FilterPredicate[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FunctionError('BadRequest', `${where}.database.filter_json is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value) || !value.every((item) => item !== null && typeof item === 'object' && typeof (item as { column?: unknown }).column === 'string')) {
    throw new FunctionError('BadRequest', `${where}.database.filter_json must be a JSON array of predicates like [{"column":"status","equals":"paid"}]`);
  }
  return value as FilterPredicate[];
}

export function fromProtoConfig(config: pb.FunctionConfig | undefined): FunctionConfigInput {
  if (config === undefined) return {};
  const result: { -readonly [K in keyof FunctionConfigInput]: FunctionConfigInput[K] } = {};
  if (config.timeoutMs !== undefined) result.timeoutMs = config.timeoutMs;
  if (config.memoryMb !== undefined) result.memoryMb = config.memoryMb;
  if (config.stackKb !== undefined) result.stackKb = config.stackKb;
  if (config.allowedHosts.length > 0) result.allowedHosts = config.allowedHosts;
  if (config.allowedEnv.length > 0) result.allowedEnv = config.allowedEnv;
  if (config.verifyJwt !== undefined) result.verifyJwt = config.verifyJwt;
  if (config.retry !== undefined) {
    const { maxAttempts, initialBackoffMs, maxBackoffMs } = config.retry;
    result.retry = {
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(initialBackoffMs === undefined ? {} : { initialBackoffMs }),
      ...(maxBackoffMs === undefined ? {} : { maxBackoffMs }),
    };
  }
  return result;
}

export function toProtoTopology(snapshot: TopologySnapshot): pb.Topology {
  return {
    nodes: snapshot.nodes.map((node) => ({
      name: node.name,
      type: node.type,
      inputs: [...node.inputs],
      metrics: Object.entries(node.metrics).map(([name, value]) => ({ name, value })),
    })),
    descriptionJson: JSON.stringify(snapshot.description ?? null),
    capturedAt: snapshot.capturedAt,
  };
}

export function toProtoRegistryEvent(entry: RegistryHistoryEntry): pb.RegistryEvent {
  return { offset: entry.offset, type: entry.type, name: entry.name, version: entry.version, at: entry.at, by: entry.by ?? '', sha256: entry.sha256 ?? '', accepted: entry.accepted, reason: entry.reason ?? '' };
}

/** An invocation record as ListInvocations sends it: the fields to list by, and the whole record as JSON. */
export function toInvocationSummary(record: InvocationRecord): pb.InvocationSummary {
  return {
    id: record.id,
    version: record.version,
    trigger: record.trigger,
    attempt: record.attempt,
    startedAt: record.startedAt,
    durationMs: record.durationMs,
    ok: record.outcome.ok,
    errorKind: record.outcome.ok ? '' : record.outcome.error.kind,
    recordJson: JSON.stringify(record),
  };
}

/** A Replay request as the domain's query; "" and 0 mean unset, as proto3 sends them. The replayer checks `against` and the bounds. */
export function fromProtoReplayRequest(request: pb.ReplayRequest): ReplayQuery {
  if (request.name === '') throw new FunctionError('BadRequest', 'name is empty');
  return {
    name: request.name,
    ...(request.against === '' ? {} : { against: request.against as ReplayTarget }),
    ...(request.limit === 0 ? {} : { limit: request.limit }),
    ...(request.invocationIds.length === 0 ? {} : { invocationIds: request.invocationIds }),
  };
}

export function toProtoReplayEvent(event: ReplayEvent): pb.ReplayEvent {
  if (event.type === 'started') return { event: { $case: 'started', value: { total: event.total } } };
  if (event.type === 'summary') return { event: { $case: 'summary', value: { ...event.summary } } };
  const { finding } = event;
  return {
    event: {
      $case: 'finding',
      value: {
        invocationId: finding.invocationId,
        attempt: finding.attempt,
        startedAt: finding.startedAt,
        recordedVersion: finding.recordedVersion,
        replayedVersion: finding.replayedVersion ?? 0,
        verdict: finding.verdict,
        differences: [...finding.differences],
        recordedOutcomeJson: JSON.stringify(finding.recorded),
        replayedOutcomeJson: finding.replayed === null ? '' : JSON.stringify(finding.replayed),
        durationMs: finding.durationMs,
        done: event.done,
        total: event.total,
      },
    },
  };
}
