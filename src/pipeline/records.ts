import type { DeadLetter, DeadLetterStage, LogRecordLike } from './types.js';

function isUtf8Text(value: Buffer): boolean {
  // Round-tripping shows whether the bytes were valid UTF-8 (invalid sequences become U+FFFD).
  return Buffer.from(value.toString('utf8'), 'utf8').equals(value);
}

export function deadLetterOf(
  record: LogRecordLike,
  stage: DeadLetterStage,
  reason: string,
  extra: Partial<Pick<DeadLetter, 'function' | 'invocationId' | 'error' | 'attempts' | 'triggerDepth'>> = {},
  now: () => number = Date.now,
): DeadLetter {
  const text = record.value === null ? null : isUtf8Text(record.value);
  return {
    stage,
    reason,
    source: { topic: record.topic, partition: record.partition, offset: record.offset },
    original: {
      key: record.key,
      value: record.value === null ? null : record.value.toString(text === true ? 'utf8' : 'base64'),
      valueEncoding: text === false ? 'base64' : 'utf8',
      headers: record.headers,
      timestamp: record.timestamp,
    },
    function: extra.function ?? null,
    invocationId: extra.invocationId ?? null,
    error: extra.error ?? null,
    attempts: extra.attempts ?? 0,
    triggerDepth: extra.triggerDepth ?? null,
    at: new Date(now()).toISOString(),
  };
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
