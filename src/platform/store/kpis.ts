import { HistogramWindow, quantileOverWindow } from '../metrics/kpis.js';
import type { KpiDefinition } from '../metrics/kpis.js';
import type { Registry } from '../metrics/registry.js';
import { ACQUIRE_WAIT_HISTOGRAM } from './pool.js';
import type { PgPool } from './pool.js';

/** KPI names (the default alert rule `pool-utilization-warning` watches `pool.utilization` > 85). */
export const POOL_KPIS = { utilization: 'pool.utilization', waitP95: 'pool.wait_p95' } as const;

/**
 * Registers the database pool's KPIs: utilisation (% of poolMax in use, warning above 85) and the
 * P95 wait for a connection over the last `windowMs` (warning above 5 ms, the planning target).
 * The pool must have been built with the same metrics registry. Returns a function removing them.
 *
 *   registerPoolKpis(engine.observability.monitor.kpis, metrics, store.pool);
 */
export function registerPoolKpis(kpis: { register(def: KpiDefinition): () => void }, metrics: Registry, pool: PgPool, windowMs = 60_000): () => void {
  const wait = metrics.histogram(ACQUIRE_WAIT_HISTOGRAM);
  const labels = { pool: pool.name };
  const window = new HistogramWindow(() => wait.histogram(labels), windowMs);
  const removers = [
    kpis.register({
      name: POOL_KPIS.utilization,
      title: 'Database pool utilisation',
      unit: '%',
      group: 'pool',
      description: 'Connections in use as a share of store.poolMax; near 100 callers start to wait',
      read: () => pool.stats().utilisation * 100,
      thresholds: { comparison: '>', warning: 85 },
    }),
    kpis.register({
      name: POOL_KPIS.waitP95,
      title: 'Database connection wait P95',
      unit: 'ms',
      group: 'pool',
      description: `95th percentile wait for a database connection over the last ${windowMs / 1000} s`,
      read: quantileOverWindow(window, 0.95),
      thresholds: { comparison: '>', warning: 5 },
    }),
  ];
  return () => removers.forEach((r) => r());
}
