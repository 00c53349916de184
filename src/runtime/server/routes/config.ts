import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './index.js';

const change = { type: 'object', properties: { path: { type: 'string' }, old: {}, new: {} }, required: ['path'] } as const;
const version = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    createdAt: { type: 'integer' },
    source: { type: 'string' },
    config: { type: 'object', additionalProperties: true },
    diff: { type: 'array', items: change },
  },
  required: ['version', 'createdAt', 'source', 'diff'],
} as const;

export default async function configRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.get('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'The running configuration (secrets never appear: they live in the environment only).',
      response: { 200: { type: 'object', properties: { config: { type: 'object', additionalProperties: true }, pendingRestart: { type: 'array', items: { type: 'string' } } }, required: ['config', 'pendingRestart'] } },
    },
  }, async () => ({ config: engine.settings, pendingRestart: [...engine.config.pendingRestart] }));

  app.get<{ Querystring: { limit: number } }>('/v1/config/history', {
    schema: {
      tags: ['config'],
      summary: 'Config versions, newest first: time, source and diff.',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false },
      response: { 200: { type: 'object', properties: { versions: { type: 'array', items: { ...version, properties: { ...version.properties, config: { type: 'object', additionalProperties: true } } } } }, required: ['versions'] } },
    },
  }, async (req) => ({ versions: await engine.config.history(req.query.limit) }));

  app.get<{ Querystring: { a: number; b: number } }>('/v1/config/diff', {
    schema: {
      tags: ['config'],
      summary: 'Key-by-key differences between two versions.',
      querystring: { type: 'object', properties: { a: { type: 'integer', minimum: 1 }, b: { type: 'integer', minimum: 1 } }, required: ['a', 'b'], additionalProperties: false },
      response: { 200: { type: 'object', properties: { changes: { type: 'array', items: change } }, required: ['changes'] } },
    },
  }, async (req) => ({ changes: await engine.config.diff(req.query.a, req.query.b) }));

  app.post<{ Body: { version: number } }>('/v1/config/rollback', {
    schema: {
      tags: ['config'],
      summary: 'Makes an old version current again; live keys apply now, the rest are named as needing a restart.',
      body: { type: 'object', properties: { version: { type: 'integer', minimum: 1 } }, required: ['version'], additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: { version: version, applied: { type: 'array', items: { type: 'string' } }, restartRequired: { type: 'array', items: { type: 'string' } } },
          required: ['version', 'applied', 'restartRequired'],
        },
      },
    },
  }, async (req) => {
    const result = await engine.config.rollback(req.body.version);
    req.log.info({ to: req.body.version, newVersion: result.version.version, actor: req.actor, applied: result.applied, restartRequired: result.restartRequired }, 'config rolled back');
    return result;
  });
}
