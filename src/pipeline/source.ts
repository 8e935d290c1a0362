import type { StartPosition } from '../eventlog/index.js';

/**
 * `AEROFN_PIPELINE_START_FROM`: committed | earliest | latest | an ISO time or epoch ms.
 * 'committed' falls back to earliest on a partition the group never committed (EventLog port).
 */
export function parseStartPosition(raw: string): StartPosition {
  if (raw === 'committed' || raw === 'earliest' || raw === 'latest') return raw;
  const asNumber = Number(raw);
  const timestamp = raw.trim() !== '' && Number.isFinite(asNumber) ? asNumber : Date.parse(raw);
  if (Number.isNaN(timestamp)) {
    throw new Error(`pipeline start position must be committed, earliest, latest or an ISO time, got "${raw}"`);
  }
  return { timestamp };
}

/**
 * Change topics from config: a name gets the topic prefix; `/regex/flags` is a pattern (for
 * Debezium's per-table topics such as `/^dbserver1\.public\..+/`) and is used as written.
 */
export function parseChangeTopics(entries: readonly (string | RegExp)[], prefix: string): Array<string | RegExp> {
  return entries.map((entry) => {
    if (entry instanceof RegExp) return entry;
    const pattern = /^\/(.+)\/([a-z]*)$/.exec(entry);
    if (pattern !== null) return new RegExp(pattern[1] as string, pattern[2]);
    return `${prefix}${entry}`;
  });
}
