import { hash } from 'node:crypto';

/**
 * The invocation id of (source record, function, version): a name-based UUID (RFC 9562 v8 layout)
 * over the source position, so a redelivered record and every retry of it carry the same id and
 * a function can use it as an idempotency key.
 */
export function invocationIdFor(topic: string, partition: number, offset: number, functionName: string, version: number): string {
  // One-shot crypto.hash: no Hash object per call (this runs once per (event, function)).
  const hex = hash('sha256', `${topic}\u0000${partition}\u0000${offset}\u0000${functionName}\u0000${version}`, 'hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
