import type { Observable } from 'rxjs';
import type { SandboxLimits } from '../config/index.js';
import type { EventLog } from '../eventlog/index.js';
import type { Logger } from '../observability/index.js';
import type { FunctionDefinition, FunctionLookup } from './function-definition.js';
import type { HistoryEntry, PointInTime, RegistryView } from './point-in-time.js';
import type { RegistryEvent } from './registry-events.js';
import type { ApplyOutcome, RegistryState, RegistryTriggerIndex } from './registry-state.js';
import type { DeployInput, RegistryDefaults } from './validate-deploy.js';

// The live registry's contract: what main.ts, the API facade, the invoker and the pipeline use.

/** Checks a module before anything is written; throws FunctionError('InvalidWasm'). The sandbox provides the real one. */
export type ModuleValidator = (bytes: Uint8Array, limits: SandboxLimits) => unknown; // awaited; the result is ignored

export interface RegistryOptions {
  readonly log: EventLog;
  /** config.eventLog.topicPrefix */
  readonly topicPrefix?: string;
  readonly defaults: RegistryDefaults;
  /** Default: WebAssembly.validate (syntax only); main.ts passes the sandbox's validateModule. */
  readonly validateModule?: ModuleValidator;
  readonly logger: Logger;
  readonly maxModuleBytes?: number;
  /** How long one tail read waits at the end of the log for a new event (a long poll). Default 250 ms. */
  readonly tailWaitMs?: number;
  /** Pause between reads after a failed read (doubling) or on a log that returns at once. Default 50 ms. */
  readonly pollIntervalMs?: number;
  /** How long a command waits for its own event to come back from the log. */
  readonly commandTimeoutMs?: number;
  readonly moduleCacheBytes?: number;
  /** Source of event times (tests pin it); events carry it, the fold never reads a clock. */
  readonly now?: () => number;
}

export interface CommandCaller {
  /** JWT `sub` of the caller, recorded on the event. */
  readonly subject?: string | null;
}

export interface VersionGuard {
  readonly expectedVersion?: number;
}

/** One event the live registry folded after it became ready. */
export interface RegistryChange {
  readonly offset: number;
  readonly event: RegistryEvent | undefined;
  readonly outcome: ApplyOutcome;
  /** The serving definition of the event's function after the event (undefined when undeployed). */
  readonly current: FunctionDefinition | undefined;
}

export interface Registry extends FunctionLookup {
  readonly topics: { readonly registry: string; readonly modules: string };
  /** Reads the registry to its end offset, then tails it. Resolves when ready. */
  start(): Promise<void>;
  readonly ready: boolean;
  whenReady(): Promise<void>;
  close(): Promise<void>;

  deploy(input: DeployInput, caller?: CommandCaller): Promise<FunctionDefinition>;
  /** Returns the definition that stopped serving. */
  undeploy(name: string, guard?: VersionGuard, caller?: CommandCaller): Promise<FunctionDefinition>;
  enable(name: string, guard?: VersionGuard, caller?: CommandCaller): Promise<FunctionDefinition>;
  disable(name: string, guard?: VersionGuard, caller?: CommandCaller): Promise<FunctionDefinition>;

  /** The serving definition, enabled or not (callers check `enabled`). */
  getFunction(name: string): FunctionDefinition | undefined;
  getFunctionVersion(name: string, version: number): FunctionDefinition | undefined;
  getFunctionById(id: string): FunctionDefinition | undefined;
  listFunctions(): FunctionDefinition[];
  triggerIndex(): RegistryTriggerIndex;
  getModule(sha256: string): Promise<Uint8Array>;

  /** The live folded state (it changes as events arrive; do not keep it across awaits). */
  state(): RegistryState;
  stateHash(): string;
  /** The next registry offset this instance will fold. */
  position(): number;
  /** Waits until this instance has folded everything the log held when called. */
  sync(): Promise<void>;

  at(point: PointInTime): Promise<RegistryView>;
  /** Events of one function (all events when `name` is undefined), oldest first. */
  history(name?: string): Promise<HistoryEntry[]>;

  onChange(listener: (change: RegistryChange) => void): () => void;
  readonly changes$: Observable<RegistryChange>;
}
