import type { StatusName } from './sandbox-protocol.js';

/**
 * Decides which error kind a failed guest run is (DESIGN §4.2: a trap is a RuntimePanic unless a
 * host call failed just before it or the limits explain it). The rules, in order, are documented
 * in docs/sandbox.md; Timeout is decided by the main thread's clock, not here.
 *
 * A failed memory.grow is invisible from JavaScript (the guest just sees -1), so OutOfMemory is
 * inferred from evidence: V8's own memory RangeErrors, an abort message about memory, or a trap
 * while the memory sits within `nearCapBytes` of the cap.
 */
export interface FailureEvidence {
  readonly error: unknown;
  /** Linear memory size when the guest stopped. */
  readonly memoryBytes: number;
  /** The memory cap written into the module (maximum pages × 64 KiB). */
  readonly capBytes: number;
  /** The message the guest passed to env.abort, if it called it. */
  readonly abortMessage: string | undefined;
  /** Set when the most recent host call threw or answered {"error":…}. */
  readonly hostFailure: string | undefined;
}

export interface Classified {
  readonly kind: StatusName;
  readonly message: string;
}

const stackOverflow = /maximum call stack size exceeded|call stack exhausted|stack overflow/i;
const engineMemory = /WebAssembly\.Memory|out of memory|array buffer allocation failed|cannot allocate/i;
const abortMemory = /out of memory|allocation too large|memory (limit|exhausted)|cannot grow|failed to grow/i;

export function nearCapBytes(capBytes: number): number {
  return Math.max(1024 * 1024, Math.floor(capBytes / 8));
}

export function classifyFailure(evidence: FailureEvidence): Classified {
  const { error, memoryBytes, capBytes, abortMessage, hostFailure } = evidence;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

  if (error instanceof RangeError && stackOverflow.test(error.message)) {
    return { kind: 'StackOverflow', message: `the function recursed past its stack limit (${text}). Raise config.stackKb or bound the recursion.` };
  }
  if (hostFailure !== undefined) {
    return { kind: 'HostFunctionError', message: `the function stopped after a host call failed: ${hostFailure}` };
  }
  if (error instanceof RangeError && engineMemory.test(error.message)) {
    return { kind: 'OutOfMemory', message: `the function ran out of memory at ${mib(memoryBytes)} of its ${mib(capBytes)} limit (${text}). Raise config.memoryMb or use less memory.` };
  }
  if (abortMessage !== undefined && abortMemory.test(abortMessage)) {
    return { kind: 'OutOfMemory', message: `the function aborted at ${mib(memoryBytes)} of its ${mib(capBytes)} memory limit: ${abortMessage}. Raise config.memoryMb or use less memory.` };
  }
  if (capBytes > 0 && capBytes - memoryBytes < nearCapBytes(capBytes)) {
    const why = abortMessage !== undefined ? `aborted (${abortMessage})` : `trapped (${text})`;
    return { kind: 'OutOfMemory', message: `the function ${why} with its memory at ${mib(memoryBytes)} of its ${mib(capBytes)} limit, where memory.grow fails. Raise config.memoryMb or use less memory.` };
  }
  if (abortMessage !== undefined) {
    return { kind: 'RuntimePanic', message: `the function aborted: ${abortMessage}` };
  }
  return { kind: 'RuntimePanic', message: `the function trapped: ${text}` };
}
