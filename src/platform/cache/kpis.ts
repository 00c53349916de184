import { ratioOverWindow } from '../metrics/kpis.js';
import type { KpiDefinition } from '../metrics/kpis.js';
import type { TieredCache } from './cache.js';

/** The KPI name the default alert rules use (`cache-hit-rate-critical`: below 90 % for 15 s). */
export const CACHE_HIT_RATE_KPI = 'cache.hit_rate';

/**
 * Registers the cache hit rate (served ÷ (served + missed), %, over the last `windowMs`) with a KPI
 * registry. Returns a function removing it.
 *
 *   registerCacheKpis(engine.observability.monitor.kpis, engine.cache, 60_000);
 */
export function registerCacheKpis(kpis: { register(def: KpiDefinition): () => void }, cache: TieredCache, windowMs = 60_000): () => void {
  let last = cache.hitCounts();
  const read = (): void => {
    last = cache.hitCounts();
  };
  return kpis.register({
    name: CACHE_HIT_RATE_KPI,
    title: 'Cache hit rate',
    unit: '%',
    group: 'cache',
    description: `Lookups answered from some cache layer (L1, L2, L3, or stale within grace) over the last ${windowMs / 1000} s; the planning document aims above 97 %`,
    read: ratioOverWindow(
      () => (read(), last.served),
      () => last.served + last.missed,
      windowMs,
      100,
    ),
    thresholds: { comparison: '<', warning: 97, critical: 90 },
  });
}
