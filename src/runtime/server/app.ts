import swagger from '@fastify/swagger';
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { responseMeter } from '../../platform/metrics/builtin.js';
import type { Engine } from '../engine.js';
import { AuthError, isLoopback, makeTokenCheck, tokenActor } from './auth.js';
import { problemFor, sendProblem, toProblem } from './problem.js';
import { routes, type RoutePlugin } from './routes/index.js';
import { requestLogger } from './logger.js';
import { lazyCompilers } from './schemas.js';
import { engineSheddingGate } from './shedding.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for audit lines: `api:token:1a2b3c4d` or `api:loopback`. */
    actor: string;
  }
}

export interface AppOptions {
  engine: Engine;
  /** The address the server will bind; a non-loopback one requires `token`. */
  host: string;
  /** CODE_API_TOKEN. With it, every route but /health requires it. */
  token?: string;
  /** Extra route plugins (embedding, tests), registered after the engine's own. */
  plugins?: RoutePlugin[];
  /**
   * Compile every route schema at start-up (fastify's default) instead of at each route's first
   * request. Tests use it to prove every schema compiles; the server compiles lazily.
   */
  eagerSchemas?: boolean;
}

/** Routes that answer without a token: liveness must stay observable by anything on the box. */
const PUBLIC_ROUTES = new Set(['/health']);

/** Builds the fastify app with every route plugin; does not listen. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { engine } = opts;
  const token = opts.token || undefined;
  if (!isLoopback(opts.host) && !token) {
    throw new AuthError('SERVER_TOKEN_REQUIRED', `refusing to bind ${opts.host}: a non-loopback address requires CODE_API_TOKEN in the environment (or bind 127.0.0.1)`, { host: opts.host });
  }
  const cfg = engine.settings.server;
  const app: FastifyInstance = Fastify({
    loggerInstance: requestLogger(engine.log),
    // Per-request info lines cost throughput; errors are logged by our error handler, latency is a metric.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: cfg.bodyLimit,
    requestTimeout: cfg.requestTimeoutMs,
    requestIdHeader: 'x-request-id',
    // Unique per process start and cheap: a random prefix once, then a decimal counter (randomUUID per
    // request cost ~2%; a base-36 counter is a runtime call per request).
    genReqId: ((prefix: string, seq = 0) => () => `${prefix}-${++seq}`)(randomUUID().slice(0, 8)),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    ...(opts.eagerSchemas ? {} : { schemaController: { compilersFactory: lazyCompilers() } }),
  });

  const actor = tokenActor(token);
  app.decorateRequest('actor', '');
  const check = token ? makeTokenCheck(token) : undefined;
  const shed = engineSheddingGate(engine);
  // The one app-wide onRequest hook: request id, auth, then load shedding (src/runtime/server/shedding.ts).
  // Callback style: an async hook costs a promise and a microtask per request on every route.
  app.addHook('onRequest', (req, reply, done) => {
    req.actor = actor;
    void reply.header('x-request-id', req.id);
    if (check && !PUBLIC_ROUTES.has(req.routeOptions.url ?? '')) {
      try {
        check(req.headers.authorization);
      } catch (err) {
        done(err as Error);
        return;
      }
    }
    if (shed(req, reply)) return; // answered 503
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req);
    if (problem.status >= 500 && problem.code === 'ENGINE_INTERNAL') req.log.error({ err, reqId: req.id }, 'request failed');
    else if (problem.status >= 500) req.log.warn({ code: problem.code, detail: problem.detail, reqId: req.id }, 'request failed');
    return sendProblem(reply, problem);
  });
  // Matched routes are metered by their own onResponse hook (src/runtime/server/routes/metrics.ts).
  const unmatched = responseMeter(engine.observability.http, '(unmatched)');
  app.setNotFoundHandler((req, reply) => {
    void sendProblem(reply, problemFor('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, req));
    unmatched(req.method, reply.statusCode, reply.elapsedTime);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'CODE engine API', version: '1', description: 'Deployment checks, probes, log analysis and expert consultations. Errors are RFC 9457 problem+json.' },
      components: token ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
      ...(token ? { security: [{ bearer: [] }] } : {}),
    },
  });
  for (const route of [...routes, ...(opts.plugins ?? [])]) await app.register(route, { engine });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
