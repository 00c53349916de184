/**
 * KPIs: the handful of figures a person watches (latency P95, error rate, memory, hit rate...), each
 * read once per sample from metrics. Parts register their own KPI when they are built, with the
 * threshold that makes it bad; the alert rules of the config override those thresholds.
 *
 *   kpis.register({
 *     name: 'cache.hit_rate', title: 'Cache hit rate', unit: '%', group: 'cache',
 *     read: ratioOverWindow(() => hits.value(), () => hits.value() + misses.value(), 10_000, 100),
 *     thresholds: { comparison: '<', critical: 90 },
 *   });
 *
 * A KPI's `read` is called by the sampler only (once per tick, default every second), so windowed
 * readers below can keep their own ring of past readings. NaN means "no data yet".
 */
import { MetricsError } from './errors.js';
import type { LogLinearHistogram } from './loglinear.js';
import type { Labels } from './types.js';

export type Comparison = '>' | '>=' | '<' | '<=';
export type KpiState = 'ok' | 'warning' | 'critical' | 'unknown';

export interface KpiThresholds {
  comparison: Comparison;
  warning?: number;
  critical?: number;
}

export interface SampleContext {
  /** Epoch ms of this sample. */
  now: number;
}

export interface KpiDefinition {
  /** Dotted lower-case name, e.g. `http.latency.p95`; what alert rules refer to. */
  name: string;
  title: string;
  /** Display unit: `ms`, `%`, `MB`, `req/s`... */
  unit: string;
  /** Dashboard grouping: `http`, `process`, `cache`, `pool`, `memory`... */
  group: string;
  description?: string;
  read: (ctx: SampleContext) => number;
  /** Default thresholds; an alert rule in the config for the same KPI replaces them. */
  thresholds?: KpiThresholds;
}

export interface KpiValue {
  name: string;
  title: string;
  unit: string;
  group: string;
  /** null when there is no data (no traffic in the window, a reader that failed). */
  value: number | null;
  state: KpiState;
  thresholds: KpiThresholds | null;
}

export interface KpiSample {
  at: number;
  kpis: KpiValue[];
}

const NAME_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+){0,5}$/;
const MAX_KPIS = 200;

export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** ok / warning / critical from the thresholds; unknown without a value. */
export function kpiState(value: number | null, t: KpiThresholds | null): KpiState {
  if (value === null || !Number.isFinite(value)) return 'unknown';
  if (t === null) return 'ok';
  if (t.critical !== undefined && compare(value, t.comparison, t.critical)) return 'critical';
  if (t.warning !== undefined && compare(value, t.comparison, t.warning)) return 'warning';
  return 'ok';
}

export function validateKpi(def: KpiDefinition): void {
  const where = { kpi: def?.name };
  if (typeof def?.name !== 'string' || !NAME_RE.test(def.name)) throw new MetricsError('METRICS_NAME_INVALID', `KPI name "${String(def?.name)}" must be dotted lower case, e.g. cache.hit_rate`, where);
  for (const k of ['title', 'unit', 'group'] as const) {
    if (typeof def[k] !== 'string' || def[k].length === 0 || def[k].length > 100) throw new MetricsError('METRICS_VALUE_INVALID', `KPI ${def.name}: ${k} must be a string of 1..100 chars`, where);
  }
  if (typeof def.read !== 'function') throw new MetricsError('METRICS_VALUE_INVALID', `KPI ${def.name}: read must be a function`, where);
  const t = def.thresholds;
  if (t !== undefined) {
    if (!['>', '>=', '<', '<='].includes(t.comparison)) throw new MetricsError('METRICS_VALUE_INVALID', `KPI ${def.name}: comparison must be one of > >= < <=`, where);
    for (const k of ['warning', 'critical'] as const) {
      if (t[k] !== undefined && !Number.isFinite(t[k])) throw new MetricsError('METRICS_VALUE_INVALID', `KPI ${def.name}: ${k} threshold must be a finite number`, where);
    }
  }
}

/**
 * The KPI registry and sampler. `sample(now)` reads every KPI once; the monitor calls it on a timer
 * and tests call it with their own clock.
 */
export class KpiRegistry {
  private readonly defs = new Map<string, KpiDefinition>();
  private readonly failed = new Set<string>();
  /** Told once per KPI whose reader throws (the sample keeps going, with null for it). */
  onReadError: (name: string, err: unknown) => void = () => {};

  /** Adds a KPI; returns a function that removes it. Throws METRICS_CONFLICT on a taken name. */
  register(def: KpiDefinition): () => void {
    validateKpi(def);
    if (this.defs.has(def.name)) throw new MetricsError('METRICS_CONFLICT', `KPI ${def.name} is already registered`, { kpi: def.name });
    if (this.defs.size >= MAX_KPIS) throw new MetricsError('METRICS_LIMIT', `at most ${MAX_KPIS} KPIs`, { kpi: def.name, limit: MAX_KPIS });
    this.defs.set(def.name, def);
    return () => {
      if (this.defs.get(def.name) === def) this.defs.delete(def.name);
    };
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  get(name: string): KpiDefinition | undefined {
    return this.defs.get(name);
  }

  list(): KpiDefinition[] {
    return [...this.defs.values()];
  }

  /** Reads every KPI: name → value (NaN for no data). */
  read(now: number): Map<string, number> {
    const out = new Map<string, number>();
    const ctx = { now };
    for (const def of this.defs.values()) {
      let v: number;
      try {
        v = def.read(ctx);
        if (typeof v !== 'number') v = NaN;
      } catch (err) {
        v = NaN;
        if (!this.failed.has(def.name)) {
          this.failed.add(def.name);
          this.onReadError(def.name, err);
        }
      }
      out.set(def.name, v);
    }
    return out;
  }
}

/**
 * Keeps readings of a cumulative quantity over a sliding window: `push(now, x)` then `base()` is the
 * reading at (or just before) `now - windowMs`. Bounded: at most `maxEntries` readings.
 */
class Ring<T> {
  private readonly items: Array<{ at: number; v: T }> = [];
  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 3_600,
  ) {}
  push(at: number, v: T): void {
    this.items.push({ at, v });
    // Keep exactly one reading at or before the window start: it is the base of the window.
    while (this.items.length > 2 && this.items[1]!.at <= at - this.windowMs) this.items.shift();
    while (this.items.length > this.maxEntries) this.items.shift();
  }
  base(): { at: number; v: T } | undefined {
    return this.items[0];
  }
}

/** The part of a histogram recorded within the last `windowMs`, computed once per sample time. */
export class HistogramWindow {
  private readonly ring: Ring<LogLinearHistogram>;
  private lastAt = NaN;
  private last: LogLinearHistogram | undefined;

  /** `source` returns a fresh copy of the cumulative histogram (e.g. `hdr.histogram()`). */
  constructor(
    private readonly source: (labels?: Labels) => LogLinearHistogram,
    windowMs: number,
  ) {
    if (!(windowMs > 0)) throw new MetricsError('METRICS_VALUE_INVALID', `window must be positive (got ${windowMs})`);
    this.ring = new Ring(windowMs, 600);
    // The first window starts when the window is created: earlier traffic is not "recent".
    this.ring.push(-Infinity, source());
  }

  at(now: number): LogLinearHistogram {
    if (now === this.lastAt && this.last !== undefined) return this.last;
    const current = this.source();
    const base = this.ring.base()!.v;
    this.ring.push(now, current);
    this.last = current.since(base);
    this.lastAt = now;
    return this.last;
  }
}

/** A KPI reader: quantile `q` (0..1) of a histogram window; NaN when the window is empty. */
export function quantileOverWindow(window: HistogramWindow, q: number): (ctx: SampleContext) => number {
  return ({ now }) => {
    const h = window.at(now);
    return h.count === 0 ? NaN : h.quantile(q);
  };
}

/** A KPI reader: per-second rate of a cumulative count over the last `windowMs`. */
export function rateOverWindow(read: () => number, windowMs: number): (ctx: SampleContext) => number {
  const ring = new Ring<number>(windowMs);
  let first = true;
  return ({ now }) => {
    const v = read();
    if (first) {
      first = false;
      ring.push(now, v);
      return NaN;
    }
    const base = ring.base()!;
    ring.push(now, v);
    const dt = (now - base.at) / 1000;
    return dt > 0 ? (v - base.v) / dt : NaN;
  };
}

/**
 * A KPI reader: Δpart / Δwhole over the last `windowMs`, times `scale` (100 for a percentage).
 * NaN when nothing happened in the window (no requests: no error rate).
 */
export function ratioOverWindow(part: () => number, whole: () => number, windowMs: number, scale = 1): (ctx: SampleContext) => number {
  const ring = new Ring<[number, number]>(windowMs);
  ring.push(-Infinity, [part(), whole()]);
  return ({ now }) => {
    const p = part();
    const w = whole();
    const base = ring.base()!.v;
    ring.push(now, [p, w]);
    const dw = w - base[1];
    return dw > 0 ? ((p - base[0]) / dw) * scale : NaN;
  };
}
