import { REDACTED_RESPONSE, type HostCallRecord } from '../host-function.js';

/**
 * Secrets never reach logs or records: an env answer is journaled as "[redacted]" (null stays null,
 * so a replay still knows the key was unset). The journal writer applies this to every record.
 */
export function redactJournalEntry(record: HostCallRecord): HostCallRecord {
  if (record.fn !== 'env' || record.response === null) return record;
  return { ...record, response: REDACTED_RESPONSE };
}
