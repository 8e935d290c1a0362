import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { silentLogger } from '../../../src/observability/index.js';
import { providedHostFunctions, relayedHostFunctions, serveHostCalls, type HostCallContext, type HostFunctions } from '../../../src/wasm/index.js';
import { hostContext, utf8 } from './host-context.js';

/** The relay over a real MessageChannel: what a stream thread's guests call reaches these functions. */
function relay(hostFunctions: HostFunctions): { relayed: HostFunctions; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  const stop = serveHostCalls(hostFunctions, port1, silentLogger());
  return {
    relayed: relayedHostFunctions(port2, providedHostFunctions(hostFunctions)),
    close: () => {
      stop();
      port1.close();
    },
  };
}

it('relays a host call with its context, and answers with the host function\'s bytes', async () => {
  let seen: HostCallContext | undefined;
  const { relayed, close } = relay({
    env: async (request, context) => {
      seen = context;
      return `{"value":${JSON.stringify(Buffer.from(request).toString('utf8'))}}`;
    },
  });
  try {
    assert.deepEqual(Object.keys(relayed), ['env'], 'only what the main thread provides');
    const context = hostContext({ invocationId: 'inv-1', triggerDepth: 3, rls: { role: 'authenticated', sub: 'user-1', claims: { sub: 'user-1' } } as HostCallContext['rls'] });
    const answer = await relayed.env?.(utf8('HOME'), context);
    assert.equal(answer, '{"value":"HOME"}');
    assert.equal(seen?.invocationId, 'inv-1');
    assert.equal(seen?.triggerDepth, 3);
    assert.deepEqual(seen?.rls, context.rls);
    assert.equal(seen?.deadline, context.deadline);
    assert.equal(seen?.signal.aborted, false);
  } finally {
    close();
  }
});

it('rejects with the host function\'s error, and aborts its signal when the invocation ends first', async () => {
  let aborted: Promise<void> | undefined;
  const { relayed, close } = relay({
    db_query: async () => {
      throw Object.assign(new Error('the database is gone'), { name: 'DatabaseError' });
    },
    http_fetch: (_request, context) => {
      aborted = new Promise((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      return new Promise(() => undefined);
    },
  });
  try {
    await assert.rejects(relayed.db_query!(utf8('{}'), hostContext()), { name: 'DatabaseError', message: 'the database is gone' });
    const controller = new AbortController();
    const pending = relayed.http_fetch!(utf8('{}'), hostContext({ signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    // The main thread's call is told to stop its I/O.
    await Promise.race([aborted, new Promise((_, reject) => setTimeout(() => reject(new Error('the main thread\'s signal was not aborted')), 2000))]);
    void pending.catch(() => undefined);
  } finally {
    close();
  }
});
