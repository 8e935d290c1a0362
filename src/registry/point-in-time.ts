import type { EventLog } from '../eventlog/index.js';
import type { FunctionDefinition } from './function-definition.js';
import { decodeRegistryEvent, type RegistryEvent, type RegistryEventType } from './registry-events.js';
import { applyInPlace, createDraft, getFunction, listFunctions, type ApplyOutcome, type RegistryState, type RejectReason } from './registry-state.js';
import { stateHash } from './state-hash.js';

export const registryReadBatch = 10_000;

export interface RegistryRecord {
  readonly offset: number;
  /** The log's own timestamp of the record (ms). */
  readonly timestamp: number;
  /** undefined when the record is not a registry event. */
  readonly event: RegistryEvent | undefined;
}

/** The registry topic's records in offset order, from `from` (default: the first kept offset) up to the end offset read when it starts. */
export async function* readRegistryRecords(log: EventLog, topic: string, from?: number): AsyncGenerator<RegistryRecord[]> {
  const [start = 0] = await log.startOffsets(topic);
  const [end = 0] = await log.endOffsets(topic);
  let offset = Math.max(start, from ?? start);
  while (offset < end) {
    const records = await log.read(topic, 0, offset, { maxRecords: Math.min(registryReadBatch, end - offset) });
    if (records.length === 0) break;
    const batch: RegistryRecord[] = [];
    for (const record of records) {
      if (record.offset >= end) break;
      batch.push({ offset: record.offset, timestamp: record.timestamp, event: decodeRegistryEvent(record.value) });
      offset = record.offset + 1;
    }
    yield batch;
  }
}

/** The registry as it was: after the event at `offset` (inclusive), or after the last event written at or before `time`. */
export type PointInTime = { readonly offset: number } | { readonly time: Date | string | number };

export interface RegistryView {
  readonly state: RegistryState;
  /** Offset of the last event folded into `state`; -1 when none. */
  readonly throughOffset: number;
  stateHash(): string;
  listFunctions(): FunctionDefinition[];
  getFunction(name: string): FunctionDefinition | undefined;
}

export function viewOf(state: RegistryState, throughOffset: number): RegistryView {
  return {
    state,
    throughOffset,
    stateHash: () => stateHash(state),
    listFunctions: () => listFunctions(state),
    getFunction: (name) => getFunction(state, name),
  };
}

function timeOf(value: Date | string | number): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError(`"${String(value)}" is not a time; use an ISO time such as 2026-01-31T12:00:00Z`);
  return ms;
}

/** Where a fold for `point` stops; throws TypeError for an unreadable time. */
function stopperFor(point: PointInTime): (record: RegistryRecord) => boolean {
  const limitOffset = 'offset' in point ? point.offset : Number.POSITIVE_INFINITY;
  const limitTime = 'time' in point ? timeOf(point.time) : Number.POSITIVE_INFINITY;
  return (record) => record.offset > limitOffset || (record.event !== undefined && Date.parse(record.event.at) > limitTime);
}

/**
 * The registry at a point of its log. By time, the fold stops at the first event whose own time
 * (the writer's `at`) is after `time`, so the view is always a prefix of the log, the same one on
 * every instance, whatever the log's record timestamps say. Pure over the records given.
 */
export function foldAt(records: Iterable<RegistryRecord>, point: PointInTime): RegistryView {
  const stop = stopperFor(point);
  const draft = createDraft();
  let through = -1;
  for (const record of records) {
    if (stop(record)) break;
    applyInPlace(draft, record.event);
    through = record.offset;
  }
  return viewOf(draft, through);
}

/** registryAt over a log, for tools without a running registry (reads the topic from its start). */
export async function registryAt(log: EventLog, topic: string, point: PointInTime): Promise<RegistryView> {
  const stop = stopperFor(point);
  const records: RegistryRecord[] = [];
  outer: for await (const batch of readRegistryRecords(log, topic)) {
    for (const record of batch) {
      if (stop(record)) break outer;
      records.push(record);
    }
  }
  return foldAt(records, point);
}

export interface HistoryEntry {
  readonly offset: number;
  readonly name: string;
  readonly timestamp: string; // the log record's time (ISO)
  readonly at: string; // the writer's time (ISO)
  readonly type: RegistryEventType;
  readonly subject: string | null;
  readonly expectedVersion: number;
  /** The version the event made or acted on (deploys: the new one). */
  readonly version: number;
  readonly sha256?: string;
  readonly accepted: boolean;
  readonly reason?: RejectReason;
  readonly event: RegistryEvent;
}

/**
 * Every event that names `name` (every event when undefined), in log order, with whether the
 * fold accepted it and why not. Records that are not registry events are left out. Pure.
 */
export function historyOf(records: Iterable<RegistryRecord>, name?: string): HistoryEntry[] {
  const draft = createDraft();
  const out: HistoryEntry[] = [];
  for (const record of records) {
    const outcome = applyInPlace(draft, record.event);
    const event = record.event;
    if (event === undefined || (name !== undefined && event.name !== name)) continue;
    out.push(historyEntry(record.offset, record.timestamp, event, outcome));
  }
  return out;
}

/** One history line: the event, where it is in the log, and what the fold made of it. */
export function historyEntry(offset: number, timestamp: number, event: RegistryEvent, outcome: ApplyOutcome): HistoryEntry {
  return {
    offset,
    name: event.name,
    timestamp: new Date(timestamp).toISOString(),
    at: event.at,
    type: event.type,
    subject: event.subject,
    expectedVersion: event.expectedVersion,
    version: event.type === 'FunctionDeployed' ? event.version : event.expectedVersion,
    ...(event.type === 'FunctionDeployed' ? { sha256: event.sha256 } : {}),
    accepted: outcome.accepted,
    ...(outcome.accepted ? {} : { reason: outcome.reason }),
    event,
  };
}

/** historyOf over a log, for tools without a running registry. */
export async function registryHistory(log: EventLog, topic: string, name?: string): Promise<HistoryEntry[]> {
  const records: RegistryRecord[] = [];
  for await (const batch of readRegistryRecords(log, topic)) records.push(...batch);
  return historyOf(records, name);
}
