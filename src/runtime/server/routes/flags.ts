import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './index.js';

const flagView = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    default: { type: 'boolean' },
    overridden: { type: 'boolean' },
    description: { type: 'string' },
    fallback: { type: 'string' },
  },
  required: ['name', 'enabled', 'default', 'description', 'fallback'],
} as const;

export default async function flagRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.get('/v1/flags', {
    schema: { tags: ['flags'], summary: 'Every feature flag with its state.', response: { 200: { type: 'object', properties: { flags: { type: 'array', items: flagView } }, required: ['flags'] } } },
  }, async () => ({ flags: engine.flags.list() }));

  app.put<{ Params: { name: string }; Body: { enabled: boolean } }>('/v1/flags/:name', {
    schema: {
      tags: ['flags'],
      summary: 'Turns a flag on or off, at once, without a restart; audited.',
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 100 } }, required: ['name'] },
      body: { type: 'object', properties: { enabled: { type: 'boolean' } }, required: ['enabled'], additionalProperties: false },
      response: { 200: { type: 'object', properties: { name: { type: 'string' }, old: { type: 'boolean' }, new: { type: 'boolean' } }, required: ['name', 'old', 'new'] } },
    },
  }, async (req) => engine.flags.set(req.params.name, req.body.enabled, req.actor));

  app.get<{ Querystring: { name?: string; limit: number } }>('/v1/flags/audit', {
    schema: {
      tags: ['flags'],
      summary: 'Who changed which flag, when, from what to what.',
      querystring: { type: 'object', properties: { name: { type: 'string', maxLength: 100 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: { entries: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, at: { type: 'integer' }, name: { type: 'string' }, old: { type: 'boolean' }, new: { type: 'boolean' }, actor: { type: 'string' } } } } },
          required: ['entries'],
        },
      },
    },
  }, async (req) => ({ entries: await engine.flags.audit({ ...(req.query.name ? { name: req.query.name } : {}), limit: req.query.limit }) }));
}
