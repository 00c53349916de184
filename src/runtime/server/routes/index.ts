import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import configRoutes from './config.js';
import flagRoutes from './flags.js';
import healthRoutes, { readyReportSchema } from './health.js';
import metricsRoutes from './metrics.js';
import kpiRoutes from './kpis.js';
import alertRoutes from './alerts.js';
import dashboardRoutes from './dashboard.js';
import consultationRoutes from './consultations.js';
import logRoutes from './logs.js';
import specRoutes from './spec.js';
import probeRoutes from './probes.js';
import checkRoutes from './checks.js';

export interface RouteOptions {
  engine: Engine;
}

export type RoutePlugin = (app: FastifyInstance, opts: RouteOptions) => Promise<void>;

async function sharedSchemas(app: FastifyInstance): Promise<void> {
  app.addSchema(readyReportSchema);
}

/**
 * Every route plugin, registered in this order. Add a capability's routes: import its plugin and
 * append it. Plugins are encapsulated (fastify), so hooks and decorators stay in their own file;
 * wrap with fastify-plugin semantics (`Symbol.for('skip-override')`) only for app-wide hooks.
 */
export const routes: RoutePlugin[] = [
  Object.assign(sharedSchemas, { [Symbol.for('skip-override')]: true }),
  metricsRoutes, // first: its onRoute hook meters every route declared after it (+ /metrics)
  healthRoutes,
  configRoutes,
  flagRoutes,
  kpiRoutes,
  alertRoutes,
  dashboardRoutes,
  consultationRoutes,
  logRoutes,
  specRoutes,
  probeRoutes,
  checkRoutes,
];
