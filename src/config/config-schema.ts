/**
 * The one config schema: every setting, its environment variable, its default and its check.
 * Defaults live here and nowhere else.
 */
export type EventLogKind = 'embedded' | 'kafka';
export type DeliveryMode = 'at_least_once' | 'exactly_once';

export interface SandboxLimits {
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly stackKb: number;
}

export interface AeroConfig {
  readonly dataDir: string;
  readonly logLevel: string;
  readonly http: { readonly host: string; readonly port: number; readonly bodyLimitBytes: number };
  readonly grpc: { readonly host: string; readonly port: number };
  /** SIGTERM: how long in-flight requests and invocations may take before they are cut. */
  readonly shutdown: { readonly drainTimeoutMs: number };
  readonly auth: { readonly jwtSecret: string | undefined; readonly jwtPublicKeys: readonly string[] };
  readonly eventLog: {
    readonly kind: EventLogKind;
    readonly kafkaBrokers: readonly string[];
    readonly clientId: string;
    readonly topicPrefix: string;
    /** Embedded log: fsync every append batch before acknowledging it (see docs/event-log.md). */
    readonly fsync: boolean;
  };
  readonly database: {
    readonly url: string | undefined;
    readonly poolSize: number;
    /** Guest statements kept prepared per connection (0: none; absent: defaultPreparedStatements; see docs/database.md). */
    readonly preparedStatements?: number;
    /** PGlite on a thread of its own (absent: true); false runs it on the main thread (docs/database.md). */
    readonly pgliteThread?: boolean;
    /**
     * Heap limit of the PGlite thread in MB (absent: defaultPgliteHeapMb). A statement whose answer
     * outgrows it stops that thread, and the service restarts, instead of the process's memory
     * growing with it (docs/database.md).
     */
    readonly pgliteHeapMb?: number;
    /** Largest db_query answer a guest gets, in bytes (absent: defaultQueryMaxAnswerBytes; docs/database.md). */
    readonly queryMaxAnswerBytes?: number;
  };
  /** SQL files main.ts runs as the database owner at start, before serving (demo schema, first boot). */
  readonly bootstrap: { readonly initSql: readonly string[] };
  readonly sandbox: {
    readonly workers: number;
    readonly defaults: SandboxLimits;
    readonly maxLogMessages: number;
    readonly maxLogMessageBytes: number;
    readonly httpFetchMaxResponseBytes: number;
  };
  readonly pipeline: {
    readonly mode: DeliveryMode;
    readonly changeTopics: readonly string[];
    readonly groupId: string;
    readonly startFrom: string;
    readonly concurrency: number;
    readonly highWatermark: number;
    readonly lowWatermark: number;
    /** The source also pauses when the events in flight hold this many bytes (keys and values), and resumes below half. */
    readonly highWatermarkBytes: number;
    /** Kafka's linger.ms for the pipeline's outputs; no linger while the source is paused by backpressure. */
    readonly lingerMs: number;
    readonly maxTriggerDepth: number;
    /** Stream threads (AEROFN_PIPELINE_THREADS); 1 runs the pipeline on the main thread. */
    readonly threads: number;
    /** AEROFN_INSTANCE_ID: stable across restarts so exactly_once fences a crashed predecessor (loadConfig always sets it). */
    readonly instanceId?: string;
  };
  /** The cron scheduler (docs/scheduler.md); the instance id is pipeline.instanceId. */
  readonly scheduler: { readonly enabled: boolean; readonly maxCatchUp: number; readonly startingDeadlineMs: number; readonly tickRetentionMs: number };
}

export interface SettingSpec<T> {
  readonly env: string;
  readonly description: string;
  readonly default: T;
  /** How the docs show a default that depends on the machine (cores, host name). */
  readonly defaultText?: string;
  readonly parse: (raw: string) => T;
}

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export const parsers = {
  string: (raw: string): string => raw,
  optionalString: (raw: string): string | undefined => (raw === '' ? undefined : raw),
  list: (raw: string): string[] => raw.split(',').map((item) => item.trim()).filter((item) => item !== ''),
  boolean: (raw: string): boolean => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new Error(`expected true or false, got "${raw}"`);
  },
  integer: (min: number, max: number) => (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  },
  oneOf: <T extends string>(...choices: T[]) => (raw: string): T => {
    if (!(choices as string[]).includes(raw)) throw new Error(`expected one of ${choices.join(', ')}, got "${raw}"`);
    return raw as T;
  },
};

/** db_query statements kept prepared per database connection unless configured otherwise. */
export const defaultPreparedStatements = 100;

/**
 * The PGlite thread's heap limit in MB unless configured otherwise: far above what its own work
 * needs (tens of MB), and below what a host of this kind can give one answer.
 */
export const defaultPgliteHeapMb = 1024;

/** The largest db_query answer (its JSON) a guest gets unless configured otherwise: 16 MiB. */
export const defaultQueryMaxAnswerBytes = 16 * 1024 * 1024;
