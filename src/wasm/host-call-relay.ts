import type { MessagePort } from 'node:worker_threads';
import type { Logger } from '../observability/index.js';
import type { HostCallContext, HostFunction, HostFunctionName, HostFunctions } from './host-function.js';

/**
 * Host functions across a thread boundary. A stream thread (docs/pipeline-stream-threads.md) runs
 * its own sandbox pool, but the host functions stay where the database, the allow-lists and the
 * environment are: the main thread. The thread gets stand-ins that post each call here and wait;
 * the main thread runs the very same functions a main-thread invocation would, so row-level
 * security, the answer cap and the allow-lists hold unchanged.
 */

/** The parts of HostCallContext that cross: the signal and the logger are rebuilt on the other side. */
type RelayedContext = Omit<HostCallContext, 'signal' | 'logger'>;

type RelayRequest =
  | { readonly type: 'call'; readonly id: number; readonly name: HostFunctionName; readonly request: Uint8Array; readonly context: RelayedContext }
  | { readonly type: 'cancel'; readonly id: number };

type RelayReply =
  | { readonly id: number; readonly ok: true; readonly answer: Uint8Array | string | null }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string };

const relayedNames: readonly HostFunctionName[] = ['db_query', 'http_fetch', 'env'];

/** Main thread: answers the calls of `port` with `hostFunctions`. Returns a function that stops it. */
export function serveHostCalls(hostFunctions: HostFunctions, port: MessagePort, logger: Logger): () => void {
  const running = new Map<number, AbortController>();
  const onMessage = (message: RelayRequest): void => {
    if (message.type === 'cancel') {
      running.get(message.id)?.abort(new Error('the invocation ended'));
      return;
    }
    const { id, name, request, context } = message;
    const fn = hostFunctions[name];
    const controller = new AbortController();
    running.set(id, controller);
    // The thread's own deadline aborts its call too, but a lost cancel must not keep I/O open here.
    const timer = setTimeout(() => controller.abort(new Error('the invocation deadline passed')), Math.max(0, context.deadline - Date.now()) + 1000);
    const reply = (answer: RelayReply): void => {
      clearTimeout(timer);
      running.delete(id);
      port.postMessage(answer);
    };
    if (fn === undefined) {
      reply({ id, ok: false, name: 'Error', message: `host function ${name} is not provided` });
      return;
    }
    const full: HostCallContext = { ...context, signal: controller.signal, logger: logger.child({ function: context.functionName, invocationId: context.invocationId }) };
    fn(Buffer.from(request.buffer, request.byteOffset, request.byteLength), full).then(
      (answer) => reply({ id, ok: true, answer }),
      (error: unknown) => reply({ id, ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) }),
    );
  };
  port.on('message', onMessage);
  return () => {
    port.off('message', onMessage);
    for (const controller of running.values()) controller.abort(new Error('the service is stopping'));
    running.clear();
  };
}

/** Stream thread: host functions that run on the other end of `port` (served by serveHostCalls). */
export function relayedHostFunctions(port: MessagePort, names: readonly HostFunctionName[]): HostFunctions {
  let nextId = 0;
  const pending = new Map<number, { resolve: (answer: Uint8Array | string | null) => void; reject: (error: Error) => void }>();
  port.on('message', (reply: RelayReply) => {
    const waiting = pending.get(reply.id);
    if (waiting === undefined) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.answer);
    else waiting.reject(Object.assign(new Error(reply.message), { name: reply.name }));
  });
  port.on('close', () => {
    for (const waiting of pending.values()) waiting.reject(new Error('the main thread stopped answering host calls'));
    pending.clear();
  });
  const relay = (name: HostFunctionName): HostFunction => (request, context) => {
    const id = (nextId += 1);
    const { signal } = context;
    const crossing: RelayedContext = {
      invocationId: context.invocationId,
      functionName: context.functionName,
      version: context.version,
      config: context.config,
      rls: context.rls,
      deadline: context.deadline,
      triggerDepth: context.triggerDepth,
      ...(context.secrets === undefined ? {} : { secrets: context.secrets }),
    };
    return new Promise((resolve, reject) => {
      const cancel = (): void => port.postMessage({ type: 'cancel', id } satisfies RelayRequest);
      signal.addEventListener('abort', cancel, { once: true });
      const settle = (): void => signal.removeEventListener('abort', cancel);
      pending.set(id, {
        resolve: (answer) => (settle(), resolve(answer)),
        reject: (error) => (settle(), reject(error)),
      });
      // A copy: the guest's bytes may sit in memory the sandbox reuses for the next call.
      port.postMessage({ type: 'call', id, name, request: request.slice(), context: crossing } satisfies RelayRequest);
    });
  };
  return Object.fromEntries(names.map((name) => [name, relay(name)])) as HostFunctions;
}

/** The host functions `hostFunctions` provides, for relayedHostFunctions on the other side. */
export function providedHostFunctions(hostFunctions: HostFunctions): HostFunctionName[] {
  return relayedNames.filter((name) => hostFunctions[name] !== undefined);
}
