import type { FastifyInstance } from 'fastify';
import type { AlertEventState } from '../../../platform/metrics/alerts.js';
import type { RouteOptions } from './index.js';

const nullableNumber = { type: ['number', 'null'] } as const;
const nullableString = { type: ['string', 'null'] } as const;

/** The fields an active alert and a history event share. */
const alertFields = {
  alertId: { type: 'string' },
  rule: { type: 'string' },
  kind: { type: 'string' },
  kpi: { type: 'string' },
  severity: { type: 'string' },
  state: { type: 'string' },
  value: nullableNumber,
  threshold: nullableNumber,
  comparison: nullableString,
  activeSince: { type: 'integer' },
  message: { type: 'string' },
} as const;
const alertRequired = ['alertId', 'rule', 'kind', 'kpi', 'severity', 'state', 'value', 'threshold', 'activeSince', 'message'] as const;

export const activeAlertSchema = {
  type: 'object',
  properties: { ...alertFields, firingSince: { type: ['integer', 'null'] }, description: { type: 'string' } },
  required: [...alertRequired, 'firingSince'],
} as const;

const eventSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, ...alertFields, at: { type: 'integer' } },
  required: ['id', ...alertRequired, 'at'],
} as const;

const ruleSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    kind: { type: 'string' },
    kpi: { type: 'string' },
    comparison: { type: 'string' },
    threshold: { type: 'number' },
    forMs: { type: 'integer' },
    severity: { type: 'string' },
    hysteresis: { type: 'number' },
    description: { type: 'string' },
  },
  required: ['name', 'kpi', 'forMs', 'severity'],
} as const;

export default async function alertRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  const obs = engine.observability;

  app.get<{ Querystring: { limit: number; state?: AlertEventState; rule?: string; since?: number } }>('/v1/alerts', {
    schema: {
      tags: ['observability'],
      summary: 'Alerts pending or firing now, the rules in force, and the history of transitions (newest first).',
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          state: { type: 'string', enum: ['pending', 'firing', 'resolved', 'cancelled'] },
          rule: { type: 'string', maxLength: 100 },
          since: { type: 'integer', minimum: 0 },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            active: { type: 'array', items: activeAlertSchema },
            rules: { type: 'array', items: ruleSchema },
            events: { type: 'array', items: eventSchema },
          },
          required: ['active', 'rules', 'events'],
        },
      },
    },
  }, async (req) => {
    const { limit, state, rule, since } = req.query;
    const events = await obs.events({ limit, ...(state ? { state } : {}), ...(rule ? { rule } : {}), ...(since !== undefined ? { since } : {}) });
    return { active: obs.monitor.alerts.active(), rules: obs.monitor.alerts.rules(), events };
  });
}
