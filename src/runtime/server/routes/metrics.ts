import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route is not counted in request latency/throughput/errors (long-lived streams). */
    metrics?: boolean;
  }
}

/**
 * App-wide request instrumentation (latency, throughput, errors by method, route pattern and
 * status) and the Prometheus endpoint. Registered with skip-override so its hook sees every route;
 * it also starts KPI sampling with the server and stops it when the server closes.
 */
async function metricsRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  const obs = engine.observability;
  const { duration, requests, errors } = obs.http;

  // Callback style: no promise per request.
  app.addHook('onResponse', (req, reply, done) => {
    const options = req.routeOptions;
    if (options.config?.metrics === false) return done();
    // The route pattern, never the raw URL: a label per distinct path would be unbounded.
    const route = options.url ?? '(unmatched)';
    const status = reply.statusCode;
    const labels = { method: req.method, route, status: String(status) };
    duration.record(reply.elapsedTime, labels);
    requests.inc(labels);
    if (status >= 500) errors.inc({ route });
    done();
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
