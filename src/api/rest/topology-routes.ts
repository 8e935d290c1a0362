import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { FunctionError } from '../../errors/index.js';
import { topologyPage, type Logger } from '../../observability/index.js';
import type { FunctionsService } from '../functions-service.js';
import { errorBody } from './rest-errors.js';

export interface TopologyRoutesOptions {
  readonly service: FunctionsService;
  readonly logger: Logger;
  /** Event streams open at once; past it /topology/stream answers 503 (default 64). */
  readonly maxStreams?: number;
}

type Listener = (event: string, data: string) => void;

interface FeedGroup {
  readonly listeners: Set<Listener>;
  readonly timer: NodeJS.Timeout;
  busy: boolean;
}

/**
 * One ticker per interval, shared by every open stream at that interval: ten browser tabs cost
 * one describe() per tick (on Kafka, describe() asks the broker for offsets), not ten. It reads
 * service.topology(), the same source as gRPC WatchTopology and /topology.json.
 */
class TopologyFeed {
  private readonly groups = new Map<number, FeedGroup>();

  constructor(private readonly service: FunctionsService) {}

  get size(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.listeners.size;
    return n;
  }

  subscribe(intervalMs: number, listener: Listener): () => void {
    let group = this.groups.get(intervalMs);
    if (group === undefined) {
      const created: FeedGroup = { listeners: new Set(), timer: setInterval(() => this.tick(created), intervalMs), busy: false };
      this.groups.set(intervalMs, created);
      group = created;
    }
    group.listeners.add(listener);
    // A new viewer gets a snapshot now rather than at the group's next tick.
    void this.snapshot().then(([event, data]) => listener(event, data));
    const joined = group;
    return () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0 && this.groups.get(intervalMs) === joined) {
        clearInterval(joined.timer);
        this.groups.delete(intervalMs);
      }
    };
  }

  private tick(group: FeedGroup): void {
    // A describe() slower than the interval must not pile up behind itself.
    if (group.busy) return;
    group.busy = true;
    void this.snapshot().then(([event, data]) => {
      group.busy = false;
      for (const listener of group.listeners) listener(event, data);
    });
  }

  private snapshot(): Promise<[string, string]> {
    return this.service.topology().then(
      (snapshot) => ['topology', JSON.stringify(snapshot)],
      (error: unknown) => {
        const failure = error instanceof FunctionError ? error : new FunctionError('RuntimePanic', `topology snapshot failed: ${(error as Error).message}`);
        return ['failure', JSON.stringify(errorBody(failure))];
      },
    );
  }
}

function intervalOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100 || value > 60_000) {
    throw new FunctionError('BadRequest', `query intervalMs must be a whole number of milliseconds from 100 to 60000, got "${raw}"`);
  }
  return value;
}

/**
 * GET /topology (the page), /topology.json (one snapshot) and /topology/stream (server-sent
 * events: `topology` with a /topology.json snapshot every intervalMs, `failure` with an error
 * body when a snapshot fails, `closing` when the server shuts down). No token, like /metrics:
 * counters and lag of fixed stage names, no function data (docs/topology.md).
 */
export function registerTopologyRoutes(app: FastifyInstance, options: TopologyRoutesOptions): void {
  const { service, logger } = options;
  const maxStreams = options.maxStreams ?? 64;
  const feed = new TopologyFeed(service);
  const open = new Set<ServerResponse>();

  app.get('/topology.json', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    return await service.topology();
  });

  app.get('/topology', async (_request, reply) => {
    const page = topologyPage();
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', page.contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(page.html);
  });

  app.get<{ Querystring: Record<string, string> }>('/topology/stream', async (request, reply) => {
    const intervalMs = intervalOf(request.query['intervalMs']);
    if (feed.size >= maxStreams) {
      throw new FunctionError('Unavailable', `${maxStreams} topology streams are open already; close a page or poll GET /topology.json`);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // The socket closes with the stream, so a shutdown never waits on an idle keep-alive.
      connection: 'close',
      // nginx would otherwise buffer the stream and the page would see nothing.
      'x-accel-buffering': 'no',
    });
    // EventSource reconnects after this many ms when the connection drops.
    raw.write(`retry: ${Math.min(intervalMs, 5000)}\n\n`);
    open.add(raw);
    let backedUp = false;
    const unsubscribe = feed.subscribe(intervalMs, (event, data) => {
      // A reader that does not keep up skips snapshots instead of growing our buffer.
      if (backedUp || raw.writableEnded) return;
      if (!raw.write(`event: ${event}\ndata: ${data}\n\n`)) {
        backedUp = true;
        raw.once('drain', () => (backedUp = false));
      }
    });
    raw.on('close', () => {
      unsubscribe();
      open.delete(raw);
    });
    raw.on('error', (error) => logger.debug({ err: error }, 'topology stream ended with an error'));
  });

  // Streams never end by themselves: end them before close() so it does not wait out its bound.
  app.addHook('preClose', (done) => {
    for (const raw of open) {
      if (!raw.writableEnded) raw.end('event: closing\ndata: {}\n\n');
    }
    open.clear();
    done();
  });
}
