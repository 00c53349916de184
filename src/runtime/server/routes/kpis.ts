import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './index.js';

const nullableNumber = { type: ['number', 'null'] } as const;

export const thresholdsSchema = {
  type: ['object', 'null'],
  properties: { comparison: { type: 'string' }, warning: { type: 'number' }, critical: { type: 'number' } },
} as const;

export const kpiValueSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    title: { type: 'string' },
    unit: { type: 'string' },
    group: { type: 'string' },
    value: nullableNumber,
    state: { type: 'string', enum: ['ok', 'warning', 'critical', 'unknown'] },
    thresholds: thresholdsSchema,
  },
  required: ['name', 'title', 'unit', 'group', 'value', 'state', 'thresholds'],
} as const;

export default async function kpiRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  const monitor = engine.observability.monitor;

  app.get('/v1/kpis', {
    schema: {
      tags: ['observability'],
      summary: 'Every KPI with its latest value, thresholds and state (ok, warning, critical, unknown = no data).',
      response: {
        200: {
          type: 'object',
          properties: {
            at: { type: 'integer' },
            intervalMs: { type: 'integer' },
            kpis: { type: 'array', items: kpiValueSchema },
            alerts: { type: 'object', properties: { pending: { type: 'integer' }, firing: { type: 'integer' } }, required: ['pending', 'firing'] },
            baselines: {
              type: 'object',
              additionalProperties: { type: 'object', properties: { baseline: nullableNumber, upper: nullableNumber, ready: { type: 'boolean' }, anomalous: { type: 'boolean' } } },
            },
          },
          required: ['at', 'intervalMs', 'kpis', 'alerts'],
        },
      },
    },
  }, async () => {
    const s = monitor.view();
    return {
      at: s.at,
      intervalMs: monitor.intervalMs,
      kpis: s.kpis,
      alerts: { pending: s.alerts.filter((a) => a.state === 'pending').length, firing: s.alerts.filter((a) => a.state === 'firing').length },
      baselines: s.baselines,
    };
  });

  app.get('/v1/kpis/history', {
    schema: {
      tags: ['observability'],
      summary: 'The recent KPI samples kept in memory (default the last 300), oldest first, for charts.',
      response: {
        200: {
          type: 'object',
          properties: {
            intervalMs: { type: 'integer' },
            samples: { type: 'array', items: { type: 'object', properties: { at: { type: 'integer' }, values: { type: 'object', additionalProperties: nullableNumber } }, required: ['at', 'values'] } },
          },
          required: ['intervalMs', 'samples'],
        },
      },
    },
  }, async () => ({ intervalMs: monitor.intervalMs, samples: monitor.history() }));
}
