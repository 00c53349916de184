import type { Counter, Histogram, MetricsRegistry } from '../metrics/types.js';
import type { TieredCache } from './cache.js';

interface Instruments {
  hits: Counter;
  misses: Counter;
  stale: Counter;
  evictions: Counter;
  factory: Counter;
  l2Errors: Counter;
  l2Skipped: Counter;
  bus: Counter;
  drops: Counter;
  leaseWaits: Counter;
  opDuration: Histogram;
  factoryDuration: Histogram;
  live: Map<string, TieredCache>;
}

const byRegistry = new WeakMap<MetricsRegistry, Instruments>();

function instrumentsFor(registry: MetricsRegistry): Instruments {
  let found = byRegistry.get(registry);
  if (found !== undefined) return found;
  const live = new Map<string, TieredCache>();
  const c = (name: string, help: string, labelNames: string[]): Counter => registry.counter({ name, help, labelNames });
  found = {
    live,
    hits: c('code_cache_hits_total', 'Cache lookups answered by a layer (stale answers included), by layer', ['cache', 'layer']),
    misses: c('code_cache_misses_total', 'Cache lookups a layer could not answer, by layer', ['cache', 'layer']),
    stale: c('code_cache_stale_served_total', 'Stale values served while a refresh ran or its factory failed', ['cache']),
    evictions: c('code_cache_evictions_total', 'Entries evicted to stay within bounds, by layer', ['cache', 'layer']),
    factory: c('code_cache_factory_runs_total', 'Factory runs, by outcome (ok, error, timeout)', ['cache', 'outcome']),
    l2Errors: c('code_cache_l2_errors_total', 'Redis commands that failed (errors, timeouts)', ['cache']),
    l2Skipped: c('code_cache_l2_skipped_total', 'Redis operations skipped: not connected, breaker open', ['cache']),
    bus: c('code_cache_bus_messages_total', 'Invalidation bus messages, by direction', ['cache', 'direction']),
    drops: c('code_cache_l1_drops_total', 'Times L1 was emptied or shrunk (bus reconnect, memory pressure)', ['cache']),
    leaseWaits: c('code_cache_lease_waits_total', 'getOrSet calls that waited for another instance holding the lease', ['cache']),
    opDuration: registry.histogram({ name: 'code_cache_op_duration_ms', help: 'Latency of L2/L3 operations', labelNames: ['cache', 'layer', 'op'], unit: 'ms', max: 60_000 }),
    factoryDuration: registry.histogram({ name: 'code_cache_factory_duration_ms', help: 'Latency of factory runs that succeeded', labelNames: ['cache'], unit: 'ms', max: 3_600_000 }),
  };
  const each = <T>(fn: (c: TieredCache) => T[]): T[] => [...live.values()].flatMap(fn);
  registry.gaugeCallback({
    name: 'code_cache_hit_ratio',
    help: 'Share of cache lookups answered from some layer, since start (KPI)',
    labelNames: ['cache'],
    collect: () => each((c) => [{ labels: { cache: c.name }, value: c.hitRate() }]),
  });
  registry.gaugeCallback({
    name: 'code_cache_items',
    help: 'Entries held, by layer',
    labelNames: ['cache', 'layer'],
    collect: () =>
      each((c) => {
        const s = c.stats();
        const out = [];
        if (s.l1) out.push({ labels: { cache: c.name, layer: 'l1' }, value: s.l1.items });
        if (s.l3) out.push({ labels: { cache: c.name, layer: 'l3' }, value: s.l3.items });
        return out;
      }),
  });
  registry.gaugeCallback({
    name: 'code_cache_bytes',
    help: 'Bytes held, by layer (L1: encoded size plus per-entry overhead; L3: payload bytes)',
    labelNames: ['cache', 'layer'],
    collect: () =>
      each((c) => {
        const s = c.stats();
        const out = [];
        if (s.l1) out.push({ labels: { cache: c.name, layer: 'l1' }, value: s.l1.bytes });
        if (s.l3) out.push({ labels: { cache: c.name, layer: 'l3' }, value: s.l3.bytes });
        return out;
      }),
  });
  registry.gaugeCallback({
    name: 'code_cache_l2_available',
    help: '1 when Redis (L2) is connected, enabled and its breaker not open',
    labelNames: ['cache'],
    collect: () => each((c) => (c.stats().l2 ? [{ labels: { cache: c.name }, value: c.l2Available() ? 1 : 0 }] : [])),
  });
  byRegistry.set(registry, found);
  return found;
}

type Snapshot = Record<string, number>;

/**
 * The cache counts in plain fields on its hot path (an L1 hit must not look up a labelled series);
 * this copies the increments into the registry's counters once a second and on every stats() call.
 */
export class CacheMetrics {
  private readonly ins: Instruments;
  private readonly cache: TieredCache;
  private readonly labels: { cache: string };
  private last: Snapshot = {};

  constructor(registry: MetricsRegistry, cache: TieredCache) {
    this.ins = instrumentsFor(registry);
    this.cache = cache;
    this.labels = { cache: cache.name };
    this.ins.live.set(cache.name, cache);
  }

  private read(): Snapshot {
    const c = this.cache;
    return {
      l1Hits: c.l1Hits,
      l1Misses: c.l1Misses,
      l2Hits: c.l2Hits,
      l2Misses: c.l2Misses,
      l3Hits: c.l3Hits,
      l3Misses: c.l3Misses,
      stale: c.staleServed,
      factoryOk: c.factoryRuns - c.factoryErrors - c.factoryTimeouts,
      factoryErr: c.factoryErrors,
      factoryTimeout: c.factoryTimeouts,
      l2Errors: c.l2Errors,
      l2Skipped: c.l2Skipped,
      drops: c.l1Drops,
      leaseWaits: c.leaseWaits,
      ...this.layerCounts(),
    };
  }

  private layerCounts(): Snapshot {
    const s = this.cache.statsRaw();
    return { l1Evictions: s.l1Evictions, l3Evictions: s.l3Evictions, busOut: s.busOut, busIn: s.busIn };
  }

  flush(): void {
    const now = this.read();
    const last = this.last;
    const d = (k: string): number => Math.max(0, (now[k] ?? 0) - (last[k] ?? 0));
    const ins = this.ins;
    const name = this.cache.name;
    const inc = (counter: Counter, labels: Record<string, string>, by: number): void => {
      if (by > 0) counter.inc(labels, by);
    };
    inc(ins.hits, { cache: name, layer: 'l1' }, d('l1Hits'));
    inc(ins.hits, { cache: name, layer: 'l2' }, d('l2Hits'));
    inc(ins.hits, { cache: name, layer: 'l3' }, d('l3Hits'));
    inc(ins.misses, { cache: name, layer: 'l1' }, d('l1Misses'));
    inc(ins.misses, { cache: name, layer: 'l2' }, d('l2Misses'));
    inc(ins.misses, { cache: name, layer: 'l3' }, d('l3Misses'));
    inc(ins.stale, this.labels, d('stale'));
    inc(ins.evictions, { cache: name, layer: 'l1' }, d('l1Evictions'));
    inc(ins.evictions, { cache: name, layer: 'l3' }, d('l3Evictions'));
    inc(ins.factory, { cache: name, outcome: 'ok' }, d('factoryOk'));
    inc(ins.factory, { cache: name, outcome: 'error' }, d('factoryErr'));
    inc(ins.factory, { cache: name, outcome: 'timeout' }, d('factoryTimeout'));
    inc(ins.l2Errors, this.labels, d('l2Errors'));
    inc(ins.l2Skipped, this.labels, d('l2Skipped'));
    inc(ins.bus, { cache: name, direction: 'out' }, d('busOut'));
    inc(ins.bus, { cache: name, direction: 'in' }, d('busIn'));
    inc(ins.drops, this.labels, d('drops'));
    inc(ins.leaseWaits, this.labels, d('leaseWaits'));
    this.last = now;
  }

  opDuration(layer: 'l2' | 'l3', op: string, ms: number): void {
    this.ins.opDuration.record(ms, { cache: this.cache.name, layer, op });
  }

  factoryDuration(ms: number): void {
    this.ins.factoryDuration.record(ms, this.labels);
  }

  dispose(): void {
    if (this.ins.live.get(this.cache.name) === this.cache) this.ins.live.delete(this.cache.name);
  }
}
