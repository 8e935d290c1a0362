import type { DatabaseOperation, FunctionDefinition, Trigger } from './function-definition.js';
import type { ModuleRef, RegistryEvent } from './registry-events.js';

/**
 * The registry state is a fold over `aerofn.registry`. Nothing in this file reads a clock, does
 * I/O or draws a random number: the same events give the same state on every instance.
 */
export interface FunctionEntry {
  readonly name: string;
  /** Highest version ever deployed under this name; it survives undeploy, so versions never repeat. */
  readonly latestVersion: number;
  /** The serving definition, null after undeploy. */
  readonly current: FunctionDefinition | null;
  /** Every deployed version (replays pin old versions), as the latest enable/disable left it. */
  readonly versions: ReadonlyMap<number, FunctionDefinition>;
}

export interface RegistryState {
  readonly functions: ReadonlyMap<string, FunctionEntry>;
  /** Where each module was last written, by sha256 (from the accepted deploy events). */
  readonly modules: ReadonlyMap<string, ModuleRef>;
  /** Events folded, accepted or not, and how many of them were rejected. */
  readonly eventCount: number;
  readonly rejectedCount: number;
}

export type RejectReason = 'version-conflict' | 'not-deployed' | 'malformed';
export type ApplyOutcome = { readonly accepted: true } | { readonly accepted: false; readonly reason: RejectReason };

interface DraftEntry {
  name: string;
  latestVersion: number;
  current: FunctionDefinition | null;
  versions: Map<number, FunctionDefinition>;
}

/** A state that one owner may change in place (replay, the live registry). */
export interface DraftState extends RegistryState {
  functions: Map<string, DraftEntry>;
  modules: Map<string, ModuleRef>;
  eventCount: number;
  rejectedCount: number;
}

export function emptyRegistryState(): RegistryState {
  return createDraft();
}

export function createDraft(from?: RegistryState): DraftState {
  const functions = new Map<string, DraftEntry>();
  for (const [name, entry] of from?.functions ?? []) {
    functions.set(name, { name: entry.name, latestVersion: entry.latestVersion, current: entry.current, versions: new Map(entry.versions) });
  }
  return {
    functions,
    modules: new Map(from?.modules ?? []),
    eventCount: from?.eventCount ?? 0,
    rejectedCount: from?.rejectedCount ?? 0,
  };
}

/** Pure: returns the state after `event` and leaves `state` as it was. */
export function apply(state: RegistryState, event: RegistryEvent | undefined): RegistryState {
  const draft = createDraft(state);
  applyInPlace(draft, event);
  return draft;
}

/** Pure: folds `events` onto `from` (default: the empty registry). */
export function replay(events: Iterable<RegistryEvent | undefined>, from?: RegistryState): RegistryState {
  const draft = createDraft(from);
  for (const event of events) applyInPlace(draft, event);
  return draft;
}

/**
 * The fold step on a state the caller owns. `undefined` stands for a record that did not decode:
 * it is counted as rejected so that event counts agree across instances.
 */
export function applyInPlace(draft: DraftState, event: RegistryEvent | undefined): ApplyOutcome {
  draft.eventCount += 1;
  const outcome = decide(draft, event);
  if (!outcome.accepted) draft.rejectedCount += 1;
  return outcome;
}

function decide(draft: DraftState, event: RegistryEvent | undefined): ApplyOutcome {
  if (event === undefined) return { accepted: false, reason: 'malformed' };
  const entry = draft.functions.get(event.name);
  const latest = entry?.latestVersion ?? 0;
  // Optimistic concurrency: the writer saw `expectedVersion`; anything else means another
  // writer got there first, so this event loses everywhere.
  if (event.expectedVersion !== latest) return { accepted: false, reason: 'version-conflict' };
  switch (event.type) {
    case 'FunctionDeployed': {
      if (event.version !== latest + 1) return { accepted: false, reason: 'version-conflict' };
      const definition: FunctionDefinition = {
        id: `${event.name}@${event.version}`,
        name: event.name,
        version: event.version,
        sha256: event.sha256,
        config: event.config,
        triggers: event.triggers,
        enabled: event.enabled,
        deployedAt: event.at,
        deployedBy: event.subject,
      };
      const target = entry ?? { name: event.name, latestVersion: 0, current: null, versions: new Map() };
      target.latestVersion = event.version;
      target.current = definition;
      target.versions.set(event.version, definition);
      draft.functions.set(event.name, target);
      draft.modules.set(event.sha256, event.module);
      return { accepted: true };
    }
    case 'FunctionUndeployed': {
      if (entry === undefined || entry.current === null) return { accepted: false, reason: 'not-deployed' };
      entry.current = null;
      return { accepted: true };
    }
    case 'FunctionEnabled':
    case 'FunctionDisabled': {
      if (entry === undefined || entry.current === null) return { accepted: false, reason: 'not-deployed' };
      const updated: FunctionDefinition = { ...entry.current, enabled: event.type === 'FunctionEnabled' };
      entry.current = updated;
      entry.versions.set(updated.version, updated);
      return { accepted: true };
    }
  }
}

// ---- queries (pure) -------------------------------------------------------------------------

export function getFunction(state: RegistryState, name: string): FunctionDefinition | undefined {
  return state.functions.get(name)?.current ?? undefined;
}

export function getFunctionVersion(state: RegistryState, name: string, version: number): FunctionDefinition | undefined {
  return state.functions.get(name)?.versions.get(version);
}

/** By id `name@version`. */
export function getFunctionById(state: RegistryState, id: string): FunctionDefinition | undefined {
  const at = id.lastIndexOf('@');
  if (at <= 0) return undefined;
  const version = Number(id.slice(at + 1));
  return Number.isInteger(version) ? getFunctionVersion(state, id.slice(0, at), version) : undefined;
}

/** Deployed functions (enabled or not), sorted by name. */
export function listFunctions(state: RegistryState): FunctionDefinition[] {
  const out: FunctionDefinition[] = [];
  for (const entry of state.functions.values()) if (entry.current !== null) out.push(entry.current);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface ScheduleEntry {
  readonly function: FunctionDefinition;
  readonly trigger: Extract<Trigger, { type: 'schedule' }>;
  /** Stable across redeploys that keep the trigger list: `name#index of the trigger`. */
  readonly jobId: string;
}

/** The enabled functions by trigger; the pipeline and the scheduler read this after each change. */
export interface RegistryTriggerIndex {
  /** table → operation → functions, in name order. */
  readonly database: ReadonlyMap<string, ReadonlyMap<DatabaseOperation, readonly FunctionDefinition[]>>;
  readonly schedules: readonly ScheduleEntry[];
  readonly http: readonly FunctionDefinition[];
}

export function buildTriggerIndex(state: RegistryState): RegistryTriggerIndex {
  const database = new Map<string, Map<DatabaseOperation, FunctionDefinition[]>>();
  const schedules: ScheduleEntry[] = [];
  const http: FunctionDefinition[] = [];
  for (const fn of listFunctions(state)) {
    if (!fn.enabled) continue;
    fn.triggers.forEach((trigger, index) => {
      if (trigger.type === 'http') {
        if (!http.includes(fn)) http.push(fn);
      } else if (trigger.type === 'schedule') {
        schedules.push({ function: fn, trigger, jobId: `${fn.name}#${index}` });
      } else {
        const byOp = database.get(trigger.table) ?? new Map<DatabaseOperation, FunctionDefinition[]>();
        for (const op of trigger.operations) {
          const list = byOp.get(op) ?? [];
          if (!list.includes(fn)) list.push(fn);
          byOp.set(op, list);
        }
        database.set(trigger.table, byOp);
      }
    });
  }
  return { database, schedules, http };
}
