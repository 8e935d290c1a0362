import type { GuestContext, InvocationRecord } from './invoker-types.js';

/**
 * What a record shares with the other records of its function and caller, as JSON text: its
 * function, version, sha256 and trigger, and its context's function, version, trigger, role, sub
 * and claims. Kept per claims object (the service role's is one object for every record it runs),
 * with the values it was made from, so a record that differs in any of them makes a new one. Only
 * frozen claims are kept (the service role's, anon's and a verified token's are): the text of an
 * object that could still change could go stale.
 */
interface SharedParts {
  readonly function: string;
  readonly version: number;
  readonly sha256: string;
  readonly trigger: string;
  readonly contextFunction: string;
  readonly contextVersion: number;
  readonly contextTrigger: string;
  readonly role: string;
  readonly sub: string | null;
  /** `,"function":…,"version":…,"sha256":…,"trigger":…,"source":` */
  readonly head: string;
  /** `,"function":…,"version":…,"trigger":…,"role":…,"sub":…,"claims":…,"attempt":` (in context) */
  readonly contextMiddle: string;
}

const sharedByClaims = new WeakMap<object, SharedParts>();
/** `{"topic":…,"partition":` per topic: a handful of change topics per process. */
const sourceHeads = new Map<string, string>();
const MAX_SOURCE_HEADS = 1024;

/** Ids, times and names that need no escaping are quoted as they are (~60 ns against ~140 for JSON.stringify). */
const PLAIN = /^[\w.:+-]*$/;
const text = (value: string): string => (value.length <= 64 && PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));
/** As JSON.stringify writes a number: NaN and the infinities are null. */
const num = (value: number): string => (Number.isFinite(value) ? `${value}` : 'null');

function sharedParts(record: InvocationRecord, context: GuestContext): SharedParts {
  const cached = sharedByClaims.get(context.claims);
  if (
    cached !== undefined &&
    cached.function === record.function &&
    cached.version === record.version &&
    cached.sha256 === record.sha256 &&
    cached.trigger === record.trigger &&
    cached.contextFunction === context.function &&
    cached.contextVersion === context.version &&
    cached.contextTrigger === context.trigger &&
    cached.role === context.role &&
    cached.sub === context.sub
  ) {
    return cached;
  }
  const parts: SharedParts = {
    function: record.function,
    version: record.version,
    sha256: record.sha256,
    trigger: record.trigger,
    contextFunction: context.function,
    contextVersion: context.version,
    contextTrigger: context.trigger,
    role: context.role,
    sub: context.sub,
    head: `,"function":${text(record.function)},"version":${num(record.version)},"sha256":${text(record.sha256)},"trigger":${text(record.trigger)},"source":`,
    contextMiddle: `,"function":${text(context.function)},"version":${num(context.version)},"trigger":${text(context.trigger)},"role":${text(context.role)},"sub":${context.sub === null ? 'null' : text(context.sub)},"claims":${JSON.stringify(context.claims)},"attempt":`,
  };
  if (frozenThrough(context.claims)) sharedByClaims.set(context.claims, parts);
  return parts;
}

function frozenThrough(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(frozenThrough);
}

function sourceJson(source: InvocationRecord['source']): string {
  if (source === null) return 'null';
  let head = sourceHeads.get(source.topic);
  if (head === undefined) {
    head = `{"topic":${text(source.topic)},"partition":`;
    if (sourceHeads.size < MAX_SOURCE_HEADS) sourceHeads.set(source.topic, head);
  }
  return `${head}${num(source.partition)},"offset":${num(source.offset)}}`;
}

/**
 * Every field of InvocationRecord there with its type, as the invoker makes them. Anything else
 * (a record read back from an older version, one built by hand) is left to JSON.stringify, which
 * leaves out what is undefined where the text below would not.
 */
function hasRecordShape(record: InvocationRecord): boolean {
  const { context, outcome, source } = record as Partial<InvocationRecord>;
  return (
    typeof record.id === 'string' && typeof record.function === 'string' && typeof record.version === 'number' && typeof record.sha256 === 'string' &&
    typeof record.trigger === 'string' && typeof record.input === 'string' && typeof record.attempt === 'number' && typeof record.startedAt === 'string' &&
    typeof record.durationMs === 'number' && typeof record.memoryBytes === 'number' && Array.isArray(record.journal) &&
    (source === null || (typeof source === 'object' && typeof source.topic === 'string' && typeof source.partition === 'number' && typeof source.offset === 'number')) &&
    typeof outcome === 'object' && outcome !== null && (outcome.ok !== true || typeof outcome.output === 'string') &&
    typeof context === 'object' && context !== null && typeof context.invocationId === 'string' && typeof context.function === 'string' &&
    typeof context.version === 'number' && typeof context.trigger === 'string' && typeof context.role === 'string' &&
    (context.sub === null || typeof context.sub === 'string') && typeof context.claims === 'object' && context.claims !== null &&
    typeof context.attempt === 'number' && typeof context.now === 'number'
  );
}

/**
 * The record as JSON.stringify(record) writes it — the same text, as a test checks on generated
 * records — for the sinks, which write one per invocation. JSON.stringify's cost is per property
 * (~30 here, 3.1 µs with writing the text out as UTF-8); here the parts a function's records share
 * are serialized once and kept, and only the strings that vary go through JSON.stringify (1.7 µs;
 * docs/benchmarks-pipeline.md, "Tenth session"). The fields are written in the order of
 * InvocationRecord, as the invoker builds them.
 */
export function invocationRecordJson(record: InvocationRecord): string {
  if (!hasRecordShape(record)) return JSON.stringify(record);
  const { context, outcome } = record;
  const shared = sharedParts(record, context);
  const output = outcome.ok ? `{"ok":true,"output":${text(outcome.output)}}` : JSON.stringify(outcome);
  return (
    `{"id":${text(record.id)}${shared.head}${sourceJson(record.source)},"input":${text(record.input)}` +
    `,"context":{"invocationId":${text(context.invocationId)}${shared.contextMiddle}${num(context.attempt)},"now":${num(context.now)}}` +
    `,"journal":${record.journal.length === 0 ? '[]' : JSON.stringify(record.journal)},"outcome":${output},"attempt":${num(record.attempt)}` +
    `,"startedAt":${text(record.startedAt)},"durationMs":${num(record.durationMs)},"memoryBytes":${num(record.memoryBytes)}}`
  );
}
