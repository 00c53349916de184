import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import { responseMeter } from '../../../platform/metrics/builtin.js';
import type { RouteOptions } from './index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route is not counted in request latency/throughput/errors (long-lived streams). */
    metrics?: boolean;
  }
}

/**
 * Request instrumentation (latency, throughput, errors by method, route pattern and status) and the
 * Prometheus endpoint. Registered with skip-override, ahead of every other route plugin: its onRoute
 * hook gives each route declared after it an onResponse hook of its own, which knows the route
 * pattern and keeps its series (fastify's `request.routeOptions` builds an object per read, and a
 * label object per request costs as much again). Unmatched requests are metered by the not-found
 * handler (src/runtime/server/app.ts). It also starts KPI sampling with the server and stops it
 * when the server closes.
 */
async function metricsRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  const obs = engine.observability;

  app.addHook('onRoute', (route) => {
    if (route.config?.metrics === false) return;
    // The route pattern, never the raw URL: a label per distinct path would be unbounded.
    const meter = responseMeter(obs.http, route.url);
    // Callback style: no promise per request.
    const hook: onResponseHookHandler = (req, reply, done) => {
      meter(req.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    const own = route.onResponse;
    route.onResponse = own === undefined ? [hook] : [...(Array.isArray(own) ? own : [own]), hook];
  });

  app.addHook('onReady', async () => obs.start());
  app.addHook('onClose', async () => obs.stop());

  app.get('/metrics', {
    schema: {
      tags: ['ops'],
      summary: 'Prometheus text exposition (format 0.0.4): every metric, histograms as buckets plus quantiles.',
      produces: ['text/plain'],
      response: { 200: { type: 'string' } },
    },
  }, async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return obs.metrics.exposition();
  });
}

export default Object.assign(metricsRoutes, { [Symbol.for('skip-override')]: true });
