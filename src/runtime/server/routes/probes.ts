import type { FastifyInstance } from 'fastify';
import { ProbeError, type ProbeRequest } from '../../../capabilities/probe/index.js';
import { getProbe, listProbes } from '../../repositories/probes.js';
import type { RouteOptions } from './index.js';
import { disconnectSignal } from '../disconnect.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;

/** One probe result (src/capabilities/probe/prober.ts). */
export const probeResultSchema = {
  $id: 'probeResult',
  type: 'object',
  properties: {
    host: str,
    address: str,
    port: int,
    state: { type: 'string', enum: ['open', 'closed', 'filtered'] },
    service: { type: ['string', 'null'] },
    latencyMs: num,
    banner: str,
    http: { type: 'object', properties: { ok: { type: 'boolean' }, status: { type: ['integer', 'null'] }, latencyMs: num, error: str }, required: ['ok', 'status', 'latencyMs'] },
  },
  required: ['host', 'address', 'port', 'state', 'service', 'latencyMs'],
} as const;

const summarySchema = {
  type: 'object',
  properties: { open: int, closed: int, filtered: int, durationMs: num, addresses: int, ports: int, cached: int },
  required: ['open', 'closed', 'filtered', 'durationMs'],
} as const;

interface Body {
  targets: string[];
  ports?: string | number[];
  timeoutMs?: number;
  concurrency?: number;
  openOnly?: boolean;
  banner?: boolean;
  http?: { path: string };
  fresh?: boolean;
}

export default async function probeRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.addSchema(probeResultSchema);

  app.post<{ Body: Body }>('/v1/probes', {
    schema: {
      tags: ['probes'],
      summary: 'TCP connect scan of targets × ports: open, closed or filtered, with service labels. Only targets inside probe.allowlist (loopback by default).',
      description: 'A target outside probe.allowlist (a name is checked after resolution) is refused with PROBE_TARGET_DENIED (403) before any packet is sent.',
      body: {
        type: 'object',
        properties: {
          targets: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 300 }, minItems: 1, maxItems: 256, description: 'Addresses, names, CIDR blocks; host:port and [v6]:port fix the port.' },
          ports: { anyOf: [{ type: 'string', minLength: 1, maxLength: 10_000 }, { type: 'array', items: { type: 'integer', minimum: 1, maximum: 65535 }, minItems: 1, maxItems: 65535 }], description: '22,80,1000-2000, all, well-known (default), or a list.' },
          timeoutMs: { type: 'integer', minimum: 1, maximum: 60_000, description: 'Per-attempt timeout (default probe.timeoutMs).' },
          concurrency: { type: 'integer', minimum: 1, maximum: 8192, description: 'Connects in flight at most (default probe.maxConcurrency).' },
          openOnly: { type: 'boolean', default: false, description: 'List open ports only (the summary still counts all).' },
          banner: { type: 'boolean', default: false, description: 'Read what open ports say first.' },
          http: { type: 'object', properties: { path: { type: 'string', pattern: '^/', maxLength: 2048 } }, required: ['path'], additionalProperties: false, description: 'GET this path on every open port.' },
          fresh: { type: 'boolean', default: false, description: 'Ignore cached results.' },
        },
        required: ['targets'],
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: { id: str, createdAt: int, results: { type: 'array', items: { $ref: 'probeResult#' } }, summary: summarySchema },
          required: ['id', 'createdAt', 'results', 'summary'],
        },
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    const request: ProbeRequest = {
      targets: b.targets,
      ...(b.ports !== undefined ? { ports: b.ports } : {}),
      ...(b.timeoutMs !== undefined ? { timeoutMs: b.timeoutMs } : {}),
      ...(b.concurrency !== undefined ? { concurrency: b.concurrency } : {}),
      ...(b.openOnly ? { openOnly: true } : {}),
      ...(b.banner ? { banner: true } : {}),
      ...(b.http ? { http: b.http } : {}),
      ...(b.fresh ? { fresh: true } : {}),
    };
    const r = await engine.probes.scan(request, { signal: disconnectSignal(reply) });
    return { id: r.id, createdAt: r.createdAt, results: r.results, summary: r.summary };
  });

  app.get<{ Querystring: { limit: number; since?: number } }>('/v1/probes', {
    schema: {
      tags: ['probes'],
      summary: 'The history of probes, newest first.',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 }, since: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            probes: {
              type: 'array',
              items: { type: 'object', properties: { id: str, createdAt: int, targets: { type: 'array', items: str }, addresses: int, ports: int, open: int, closed: int, filtered: int, durationMs: num } },
            },
          },
          required: ['probes'],
        },
      },
    },
  }, async (req) => ({ probes: await listProbes(engine.store, { limit: req.query.limit, ...(req.query.since !== undefined ? { since: req.query.since } : {}) }) }));

  app.get<{ Params: { id: string } }>('/v1/probes/:id', {
    schema: {
      tags: ['probes'],
      summary: 'A stored probe: its summary and its open and filtered results (closed ones are only counted).',
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] },
      response: {
        200: {
          type: 'object',
          properties: { id: str, createdAt: int, targets: { type: 'array', items: str }, summary: summarySchema, results: { type: 'array', items: { $ref: 'probeResult#' } }, truncated: { type: 'boolean' } },
          required: ['id', 'createdAt', 'targets', 'summary', 'results', 'truncated'],
        },
      },
    },
  }, async (req) => {
    const p = await getProbe(engine.store, req.params.id);
    if (!p) throw new ProbeError('PROBE_NOT_FOUND', `no probe ${req.params.id}`, { id: req.params.id });
    return p;
  });
}
