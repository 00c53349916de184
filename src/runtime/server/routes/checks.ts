import type { FastifyInstance } from 'fastify';
import { CheckError } from '../../../capabilities/check/index.js';
import { getCheck, listChecks } from '../../repositories/checks.js';
import type { RouteOptions } from './index.js';
import { findingSchema, specInput, type SpecBody } from './spec.js';
import { disconnectSignal } from '../disconnect.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const findings = { type: 'array', items: findingSchema } as const;

/** A check report (src/capabilities/check/index.ts). */
export const checkReportSchema = {
  $id: 'checkReport',
  type: 'object',
  properties: {
    id: str,
    file: str,
    format: { type: 'string', enum: ['yaml', 'json', 'toml'] },
    startedAt: int,
    durationMs: num,
    ok: { type: 'boolean' },
    valid: { type: 'boolean' },
    findings,
    services: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: str,
          host: str,
          status: { type: 'string', enum: ['up', 'down', 'degraded', 'unknown'] },
          reason: str,
          latencyMs: nullableNum,
          ports: {
            type: 'array',
            items: { type: 'object', properties: { port: int, state: { type: 'string', enum: ['open', 'closed', 'filtered', 'not-probed'] }, latencyMs: nullableNum, service: { type: ['string', 'null'] } }, required: ['port', 'state', 'latencyMs', 'service'] },
          },
          health: { type: 'object', properties: { kind: { type: 'string', enum: ['tcp', 'http'] }, port: int, path: str, ok: { type: 'boolean' }, status: { type: ['integer', 'null'] }, latencyMs: nullableNum, error: str }, required: ['kind', 'port', 'ok', 'latencyMs'] },
          logs: {
            type: 'object',
            properties: {
              lines: int,
              errors: int,
              warnings: int,
              topProblems: { type: 'array', items: { type: 'object', properties: { message: str, count: int, level: str }, required: ['message', 'count', 'level'] } },
              error: str,
            },
          },
          findings,
        },
        required: ['name', 'host', 'status', 'reason', 'latencyMs', 'ports', 'findings'],
      },
    },
    summary: {
      type: 'object',
      properties: { services: int, up: int, down: int, degraded: int, unknown: int, errors: int, warnings: int },
      required: ['services', 'up', 'down', 'degraded', 'unknown', 'errors', 'warnings'],
    },
  },
  required: ['id', 'file', 'format', 'startedAt', 'durationMs', 'ok', 'valid', 'findings', 'services', 'summary'],
} as const;

export default async function checkRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.addSchema(checkReportSchema);

  app.post<{ Body: SpecBody }>('/v1/checks', {
    schema: {
      tags: ['checks'],
      summary: 'Validates a spec, probes every declared port and health check, reads the declared logs (inside logs.roots only), and reports each service up, down or degraded. Saved in the history.',
      description: '`ok` is false when a finding is an error or a declared service is down. Hosts outside probe.allowlist are not probed: the service is `unknown` with a `probe.denied` error finding.',
      body: { type: 'object', properties: specInput, required: ['spec'], additionalProperties: false },
      response: { 200: { $ref: 'checkReport#' } },
    },
  }, async (req, reply) => {
    return engine.checks.check(
      { text: req.body.spec, file: req.body.file ?? '<request>', ...(req.body.format ? { format: req.body.format } : {}) },
      { signal: disconnectSignal(reply) },
    );
  });

  app.get<{ Querystring: { limit: number; since?: number } }>('/v1/checks', {
    schema: {
      tags: ['checks'],
      summary: 'The history of checks, newest first.',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 }, since: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            checks: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: str, createdAt: int, file: str, ok: { type: 'boolean' }, valid: { type: 'boolean' }, services: int, up: int, down: int, degraded: int, unknown: int, errors: int, warnings: int, durationMs: num },
              },
            },
          },
          required: ['checks'],
        },
      },
    },
  }, async (req) => ({ checks: await listChecks(engine.store, { limit: req.query.limit, ...(req.query.since !== undefined ? { since: req.query.since } : {}) }) }));

  app.get<{ Params: { id: string } }>('/v1/checks/:id', {
    schema: {
      tags: ['checks'],
      summary: 'A stored check report.',
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] },
      response: { 200: { $ref: 'checkReport#' } },
    },
  }, async (req) => {
    const r = await getCheck(engine.store, req.params.id);
    if (!r) throw new CheckError('CHECK_NOT_FOUND', `no check ${req.params.id}`, { id: req.params.id });
    return r;
  });
}
