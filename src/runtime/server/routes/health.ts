import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './index.js';

const started = Date.now();

export default async function healthRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  // Liveness: no I/O, so it answers while dependencies are down (that is /ready's job).
  app.get('/health', {
    schema: {
      tags: ['ops'],
      summary: 'Liveness: the process answers.',
      response: { 200: { type: 'object', properties: { status: { type: 'string' }, uptimeS: { type: 'number' } }, required: ['status', 'uptimeS'] } },
    },
  }, async () => ({ status: 'ok', uptimeS: Math.round((Date.now() - started) / 1000) }));

  app.get('/ready', {
    schema: {
      tags: ['ops'],
      summary: 'Readiness: each dependency and its state; 503 when one is down.',
      response: {
        '2xx': { $ref: 'readyReport#' },
        503: { $ref: 'readyReport#' },
      },
    },
  }, async (_req, reply) => {
    const report = await engine.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
}

export const readyReportSchema = {
  $id: 'readyReport',
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, ok: { type: 'boolean' }, latencyMs: { type: 'number' }, error: { type: 'string' } },
        required: ['name', 'ok', 'latencyMs'],
      },
    },
  },
  required: ['ready', 'checks'],
} as const;
