import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { AppendRecord, Headers, LogRecord } from '../event-log.js';

export function toMessage(record: AppendRecord, partition: number): Message {
  const message: Message = { key: record.key ?? null, value: record.value, partition };
  if (record.headers !== undefined) message.headers = record.headers;
  if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
  return message;
}

function toHeaders(headers: IHeaders | undefined): Headers {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  // for…in, not Object.entries: no array per record (most change events carry no headers).
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

export function toLogRecord(topic: string, partition: number, message: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers: toHeaders(message.headers),
  };
}

export function recordBytes(record: LogRecord): number {
  return (record.value?.length ?? 0) + (record.key?.length ?? 0) + 64;
}
