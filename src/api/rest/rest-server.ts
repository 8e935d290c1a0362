import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { FunctionError } from '../../errors/index.js';
import type { InvocationRecord } from '../../invoker/index.js';
import type { ReplayFinding } from '../../replay/index.js';
import type { Logger } from '../../observability/index.js';
import type { Trigger } from '../../registry/index.js';
import { authenticate, authenticateServiceRole, type Authenticator } from '../authenticate.js';
import type { FunctionConfigInput, FunctionsService } from '../functions-service.js';
import { createErrorHandler, errorBody, formatValidationErrors } from './rest-errors.js';
import { deployBodySchema, nameParamsSchema, replayBodySchema, type DeployBody, type ReplayBody } from './schemas.js';
import { registerTopologyRoutes } from './topology-routes.js';

export interface RestServerOptions {
  readonly service: FunctionsService;
  readonly auth: Authenticator;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** prom-client registry served on /metrics (default: the process-wide one). */
  readonly metricsRegistry?: Registry;
  /** The error of a part that stopped for good (the database's engine, the pipeline): /healthz fails with it. */
  readonly stoppedPart?: () => Error | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request body as text, kept for invoke: the payload goes to the guest unchanged. */
    rawText: string | undefined;
  }
}

type NameParams = { name: string };

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** DESIGN §4.4. Returns the fastify instance unstarted; `listen` is the caller's. */
export function createRestServer(options: RestServerOptions): FastifyInstance {
  const { service, auth, logger } = options;
  const metrics = options.metricsRegistry ?? defaultRegistry;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request logs would double the cost of a cheap invoke; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // Keep-alive connections would hold close() for their idle timeout during a drain.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true, discriminator: true } },
    schemaErrorFormatter: (errors, dataVar) => formatValidationErrors(errors as never, dataVar),
  });

  app.decorateRequest('rawText', undefined);
  // Our own parsers only: invoke needs the body as sent (text/plain included), deploy needs JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawText = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new FunctionError('BadRequest', `malformed JSON body: ${(error as Error).message}`), undefined);
    }
  });
  // Any other type reaches invoke as text (the guest gets it as a JSON string); deploy's schema rejects it.
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    request.rawText = body as string;
    done(null, body);
  });

  app.setErrorHandler(createErrorHandler(logger));
  app.setNotFoundHandler((request, reply) => {
    const error = new FunctionError('NotFound', `no route ${request.method} ${request.url}; see docs/api.md for the endpoints`);
    void reply.code(404).send(errorBody(error));
  });

  const requireReady = (): void => {
    if (!service.ready()) throw new FunctionError('Unavailable', 'the registry is still catching up with its log; retry shortly (GET /readyz says when)');
  };

  // Liveness: 503 once a part the service cannot run without stopped for good, so that a
  // supervisor restarts an instance that would otherwise answer every call with an error.
  app.get('/healthz', async (_request, reply) => {
    const stopped = options.stoppedPart?.();
    if (stopped !== undefined) return reply.code(503).send({ status: 'failing', reason: stopped.message });
    return { status: 'ok' };
  });
  app.get('/readyz', async (_request, reply) => {
    if (!service.ready()) return reply.code(503).send({ status: 'catching-up' });
    return { status: 'ready', stateHash: service.stateHash() };
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.metrics();
    return reply.type(metrics.contentType).send(text);
  });
  registerTopologyRoutes(app, { service, logger });

  app.post<{ Body: DeployBody }>('/functions/v1/deploy', { schema: { body: deployBodySchema } }, async (request, reply) => {
    const caller = await authenticateServiceRole(auth, request.headers.authorization, 'deploying a function');
    requireReady();
    const body = request.body;
    if (!base64.test(body.wasm)) throw new FunctionError('BadRequest', 'body/wasm must be the module bytes in base64 (e.g. `base64 -w0 fn.wasm`)');
    const definition = await service.deploy({
      name: body.name,
      wasm: Buffer.from(body.wasm, 'base64'),
      config: (body.config ?? {}) as FunctionConfigInput,
      ...(body.triggers === undefined ? {} : { triggers: body.triggers as Trigger[] }),
      caller,
      ...(body.expectedVersion === undefined ? {} : { expectedVersion: body.expectedVersion }),
    });
    return reply.code(201).send(definition);
  });

  app.get('/functions/v1', async (request) => {
    await authenticate(auth, request.headers.authorization);
    return { functions: service.list(), stateHash: service.stateHash() };
  });

  app.get<{ Params: NameParams }>('/functions/v1/:name', { schema: { params: nameParamsSchema } }, async (request) => {
    await authenticate(auth, request.headers.authorization);
    return service.get(request.params.name);
  });

  app.delete<{ Params: NameParams; Querystring: Record<string, string> }>(
    '/functions/v1/:name',
    { schema: { params: nameParamsSchema } },
    async (request) => {
      const caller = await authenticateServiceRole(auth, request.headers.authorization, 'undeploying a function');
      requireReady();
      const expected = optionalInteger(request.query['expectedVersion'], 'expectedVersion', 1, Number.MAX_SAFE_INTEGER);
      return service.undeploy({ name: request.params.name, caller, ...(expected === undefined ? {} : { expectedVersion: expected }) });
    },
  );

  app.get<{ Params: NameParams; Querystring: Record<string, string> }>(
    '/functions/v1/:name/invocations',
    { schema: { params: nameParamsSchema } },
    async (request) => {
      await authenticateServiceRole(auth, request.headers.authorization, 'reading invocation records');
      const limit = optionalInteger(request.query['limit'], 'limit', 1, 1000) ?? 20;
      service.get(request.params.name);
      return { invocations: await service.invocations(request.params.name, limit) };
    },
  );

  // Replay (docs/replay.md): the whole report at once; gRPC's Replay streams it as it goes.
  app.post<{ Params: NameParams; Body: ReplayBody | undefined }>(
    '/functions/v1/:name/replay',
    { schema: { params: nameParamsSchema, body: replayBodySchema } },
    async (request, reply) => {
      await authenticateServiceRole(auth, request.headers.authorization, 'replaying invocations');
      requireReady();
      const body = request.body ?? {};
      const findings: ReplayFinding[] = [];
      // A client that goes away stops the replay between records (the response closes unsent).
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      const summary = await service.replay(
        { name: request.params.name, ...body },
        (event) => {
          if (event.type === 'finding') findings.push(event.finding);
        },
        gone.signal,
      );
      return { summary, findings };
    },
  );

  const invoke = async (request: FastifyRequest<{ Params: NameParams }>, reply: FastifyReply) => {
    requireReady();
    const definition = service.get(request.params.name);
    const rls = await authenticate(auth, request.headers.authorization, { optional: !definition.config.verifyJwt });
    const record = await service.invoke({ functionName: definition.name, payload: payloadOf(request), trigger: 'http', rls });
    sendInvocation(reply, record);
  };
  app.post<{ Params: NameParams }>('/functions/v1/invoke/:name', { schema: { params: nameParamsSchema } }, invoke);
  app.post<{ Params: NameParams }>('/functions/v1/:name', { schema: { params: nameParamsSchema } }, invoke);

  return app;
}

/** The body as UTF-8 JSON text for the guest: JSON stays as sent, other text becomes a JSON string. */
function payloadOf(request: FastifyRequest): string {
  const text = request.rawText;
  if (text === undefined || text.trim() === '') return 'null';
  const type = request.headers['content-type'] ?? '';
  return type.startsWith('application/json') ? text : JSON.stringify(text);
}

function sendInvocation(reply: FastifyReply, record: InvocationRecord): void {
  void reply.header('x-aerofn-invocation-id', record.id).header('x-aerofn-version', String(record.version));
  if (record.outcome.ok) {
    void reply.code(200).type('application/json').send(record.outcome.output === '' ? 'null' : record.outcome.output);
    return;
  }
  const error = record.outcome.error;
  void reply.code(error.httpStatus).type('application/json').send(errorBody(error));
}

function optionalInteger(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FunctionError('BadRequest', `query ${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
