/** Small helpers shared by the host functions: request parsing and the `{"error":{…}}` answer. */
const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeRequest(request: Uint8Array): string | null {
  try {
    return decoder.decode(request);
  } catch {
    return null;
  }
}

export function parseJsonObject(request: Uint8Array): Record<string, unknown> | null {
  const text = decodeRequest(request);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A refusal the guest can read and recover from; a trap after it makes the invocation a HostFunctionError. */
export function errorResponse(message: string, code?: string): string {
  return JSON.stringify({ error: code === undefined ? { message } : { message, code } });
}
