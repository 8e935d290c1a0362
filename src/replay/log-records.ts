import { partitionForKey, type EventLog } from '../eventlog/index.js';
import type { InvocationRecord } from '../invoker/index.js';
import { INVOCATION_ID_HEADER } from '../pipeline/index.js';
const BATCH = 1000;

/**
 * Every record of the invocations `ids` of function `name` still on the invocations topic, oldest
 * first. The topic is keyed by function, so one partition holds them all; it is read from its
 * start (what retention kept) to its end, which is what finding a run older than the instance's
 * recent list costs. Retries share an id, so every attempt of an id is returned. A topic that
 * does not exist holds nothing.
 */
export async function findInvocationRecords(log: EventLog, topic: string, name: string, ids: readonly string[], signal?: AbortSignal): Promise<InvocationRecord[]> {
  const wanted = new Set(ids);
  let starts: number[];
  let ends: number[];
  try {
    [starts, ends] = await Promise.all([log.startOffsets(topic), log.endOffsets(topic)]);
  } catch {
    return [];
  }
  if (ends.length === 0 || wanted.size === 0) return [];
  const partition = partitionForKey(name, ends.length);
  const end = ends[partition] ?? 0;
  const found: InvocationRecord[] = [];
  for (let offset = starts[partition] ?? 0; offset < end && signal?.aborted !== true; ) {
    const batch = await log.read(topic, partition, offset, { maxRecords: BATCH });
    if (batch.length === 0) break;
    for (const record of batch) {
      const id = record.headers[INVOCATION_ID_HEADER];
      if (record.key === name && record.value !== null && id !== undefined && wanted.has(id)) found.push(JSON.parse(record.value.toString('utf8')) as InvocationRecord);
    }
    offset = (batch[batch.length - 1]?.offset ?? offset) + 1;
  }
  return found;
}
