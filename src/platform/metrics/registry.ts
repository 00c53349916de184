/**
 * The metrics registry: counters, gauges, callback gauges and HDR-precision histograms, with a label
 * cardinality cap and Prometheus text exposition.
 *
 *   const metrics = createMetricsRegistry({ onWarning: (w) => log.warn(w, w.message) });
 *   const lat = metrics.histogram({ name: 'code_http_request_duration_ms', help: 'Request latency', labelNames: ['route'] });
 *   lat.record(12.5, { route: '/v1/checks' });
 *   lat.snapshot().p99;            // across every route
 *   metrics.exposition();          // Prometheus text 0.0.4
 *
 * Units: instruments record in the unit their name says (`ms` for latencies). Prometheus wants base
 * units and promtool rejects abbreviations, so exposition rewrites unit tokens: `..._ms` is exposed
 * as `..._seconds` with values ÷1000, `..._mb` as `..._bytes` ×2^20 (see `exposedName`).
 *
 * Cost: a record looks up its series in a Map keyed by the label values (no sorting, no hashing of
 * objects) and increments one typed-array slot. An instrument without labels skips the lookup.
 */
import { MetricsError } from './errors.js';
import { LogLinearHistogram } from './loglinear.js';
import type {
  BoundCounter,
  BoundHistogram,
  Counter,
  Gauge,
  GaugeCallbackOptions,
  Histogram,
  HistogramSnapshot,
  Labels,
  MetricOptions,
  MetricsRegistry,
} from './types.js';

export interface MetricsWarning {
  code: 'METRICS_CARDINALITY' | 'METRICS_COLLECT_FAILED';
  metric: string;
  message: string;
}

export interface RegistryOptions {
  /** Distinct label sets per metric; past it, new label sets share one overflow series. Default 1,000. */
  maxSeriesPerMetric?: number;
  /** Distinct metric names. Default 2,000. */
  maxMetrics?: number;
  /** Label values longer than this are cut (with a `…` mark). Default 200. */
  maxLabelValueLength?: number;
  /** Where warnings go (overflow, failing callback). Default: process.emitWarning. Each fires once per metric. */
  onWarning?: (w: MetricsWarning) => void;
}

export type HistogramUnit = 'ms' | 'bytes' | 'seconds';

export interface HistogramOptions extends MetricOptions {
  unit?: HistogramUnit;
  /** Highest value kept at full precision (larger ones still count, in the last bucket). */
  max?: number;
  /** Smallest value told apart from smaller ones. Default: 0.001 ms, 1 µs in seconds, 1 byte. */
  lowest?: number;
  /** Prometheus `le` bounds, in the histogram's unit, ascending. Defaults suit the unit. */
  buckets?: readonly number[];
}

/** The value every label takes in the overflow series. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** What one metric looks like to a reader (KPIs, the dashboard, tests). */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricInfo {
  name: string;
  help: string;
  kind: MetricKind;
  labelNames: readonly string[];
  series: number;
  overflowed: boolean;
}

export interface RegistryStats {
  metrics: number;
  series: number;
  overflowedMetrics: number;
  /** Bytes held by histogram buckets. */
  histogramBytes: number;
}

/** A histogram with the extensions the KPI layer needs: merged views and label enumeration. */
export interface HdrHistogram extends Histogram {
  readonly name: string;
  readonly unit: HistogramUnit;
  /** A copy of the raw buckets of one series, or of every series merged when `labels` is omitted. */
  histogram(labels?: Labels): LogLinearHistogram;
  /** Label sets recorded so far. */
  labelSets(): Labels[];
}

export interface CounterEx extends Counter {
  readonly name: string;
  labelSets(): Labels[];
}

export interface GaugeEx extends Gauge {
  readonly name: string;
  labelSets(): Labels[];
}

export interface Registry extends MetricsRegistry {
  counter(opts: MetricOptions): CounterEx;
  gauge(opts: MetricOptions): GaugeEx;
  histogram(opts: HistogramOptions): HdrHistogram;
  /** The instrument registered under `name` (not callback gauges), if any. */
  get(name: string): CounterEx | GaugeEx | HdrHistogram | undefined;
  /** Reads a callback gauge now; its labelled values, or one unlabelled value. */
  readCallback(name: string): ReadonlyArray<{ labels: Labels; value: number }> | undefined;
  list(): MetricInfo[];
  stats(): RegistryStats;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_LABEL_NAMES = 16;
const MAX_HELP_LENGTH = 1_000;
const SEP = '\u0000';

const DEFAULT_MS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 120, 150, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];
const DEFAULT_BYTE_BUCKETS = [64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824];

interface Limits {
  maxSeries: number;
  maxLabelLength: number;
  warn: (w: MetricsWarning) => void;
}

/**
 * Holds the series of one metric. Lookup walks one Map per label (value → next level), so a record
 * with labels neither allocates a joined key nor hashes a fresh string; `series` (joined key → series)
 * serves enumeration and exposition only.
 */
class Family<S> {
  readonly series = new Map<string, S>();
  /** Label values per joined key, for exposition and enumeration. */
  readonly labelsOf = new Map<string, Labels>();
  private readonly tree = new Map<string, unknown>();
  private overflow: S | undefined;
  private readonly depth: number;

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
    private readonly limits: Limits,
    private readonly make: () => S,
  ) {
    this.depth = labelNames.length;
  }

  private keyOf(labels: Labels | undefined): string {
    let k = '';
    for (let i = 0; i < this.depth; i++) k += (i === 0 ? '' : SEP) + (labels === undefined ? '' : (labels[this.labelNames[i]!] ?? ''));
    return k;
  }

  /** The series for `labels` if it exists; never creates one. */
  peek(labels: Labels | undefined): S | undefined {
    const names = this.labelNames;
    const d = this.depth;
    if (d === 0) return this.tree.get('') as S | undefined;
    if (labels === undefined) return this.series.get(this.keyOf(undefined));
    let m = this.tree;
    for (let i = 0; i < d - 1; i++) {
      const next = m.get(labels[names[i]!] ?? '') as Map<string, unknown> | undefined;
      if (next === undefined) return undefined;
      m = next;
    }
    return m.get(labels[names[d - 1]!] ?? '') as S | undefined;
  }

  /** The series for `labels`, created on first use (or the overflow series once the cap is reached). */
  get(labels: Labels | undefined): S {
    const s = this.peek(labels);
    return s !== undefined ? s : this.create(labels);
  }

  private insert(key: string, labels: Labels, s: S): void {
    this.series.set(key, s);
    this.labelsOf.set(key, labels);
    if (this.depth === 0) {
      this.tree.set('', s);
      return;
    }
    let m = this.tree;
    for (let i = 0; i < this.depth - 1; i++) {
      const v = labels[this.labelNames[i]!]!;
      let next = m.get(v) as Map<string, unknown> | undefined;
      if (next === undefined) m.set(v, (next = new Map()));
      m = next;
    }
    m.set(labels[this.labelNames[this.depth - 1]!]!, s);
  }

  private create(labels: Labels | undefined): S {
    const clean: Record<string, string> = {};
    if (labels !== undefined) {
      for (const k of Object.keys(labels)) {
        if (!this.labelNames.includes(k)) {
          throw new MetricsError('METRICS_LABEL_INVALID', `metric ${this.name} has no label "${k}" (declared: ${this.labelNames.join(', ') || 'none'})`, { metric: this.name, label: k });
        }
      }
    }
    for (const k of this.labelNames) {
      let v = labels?.[k] ?? '';
      if (typeof v !== 'string') v = String(v);
      if (v.length > this.limits.maxLabelLength) v = v.slice(0, this.limits.maxLabelLength - 1) + '…';
      clean[k] = v;
    }
    const key = this.keyOf(clean);
    const existing = this.series.get(key);
    if (existing !== undefined) return existing; // a cut value that maps onto an existing series
    if (this.series.size >= this.limits.maxSeries) return this.overflowSeries();
    const s = this.make();
    this.insert(key, clean, s);
    return s;
  }

  private overflowSeries(): S {
    if (this.overflow === undefined) {
      this.overflow = this.make();
      const labels: Record<string, string> = {};
      for (const k of this.labelNames) labels[k] = OVERFLOW_LABEL_VALUE;
      // Stored beside the capped series so exposition and merges include it; the cap counts user series only.
      this.insert(this.keyOf(labels), labels, this.overflow);
      this.limits.warn({
        code: 'METRICS_CARDINALITY',
        metric: this.name,
        message: `metric ${this.name} reached ${this.limits.maxSeries} label sets; further label sets are counted in one series labelled "${OVERFLOW_LABEL_VALUE}"`,
      });
    }
    return this.overflow;
  }

  get overflowed(): boolean {
    return this.overflow !== undefined;
  }

  labelSets(): Labels[] {
    return [...this.labelsOf.values()];
  }
}

interface NumSeries {
  v: number;
}

function checkIncrement(counter: string, by: number): void {
  if (!(by >= 0)) throw new MetricsError('METRICS_VALUE_INVALID', `counter ${counter} cannot go down (inc by ${by})`, { metric: counter, by });
}

class CounterImpl implements CounterEx {
  readonly kind = 'counter' as const;
  readonly fam: Family<NumSeries>;
  /** The single series of an unlabelled counter, so `inc()` skips the lookup. */
  private readonly only: NumSeries | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    limits: Limits,
  ) {
    this.fam = new Family(name, labelNames, limits, () => ({ v: 0 }));
    this.only = labelNames.length === 0 ? this.fam.get(undefined) : undefined;
  }
  inc(labels?: Labels, by = 1): void {
    checkIncrement(this.name, by);
    (this.only ?? this.fam.get(labels)).v += by;
  }
  bind(labels?: Labels): BoundCounter {
    const series = this.only ?? this.fam.get(labels);
    const name = this.name;
    return {
      inc(by = 1) {
        checkIncrement(name, by);
        series.v += by;
      },
    };
  }
  /** One label set's value; with `labels` omitted on a labelled counter, the sum over every series. */
  value(labels?: Labels): number {
    if (labels === undefined && this.fam.labelNames.length > 0) {
      let t = 0;
      for (const s of this.fam.series.values()) t += s.v;
      return t;
    }
    return this.fam.peek(labels)?.v ?? 0;
  }
  labelSets(): Labels[] {
    return this.fam.labelSets();
  }
}

class GaugeImpl implements GaugeEx {
  readonly kind = 'gauge' as const;
  readonly fam: Family<NumSeries>;
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    limits: Limits,
  ) {
    this.fam = new Family(name, labelNames, limits, () => ({ v: 0 }));
  }
  set(value: number, labels?: Labels): void {
    this.fam.get(labels).v = value;
  }
  inc(labels?: Labels, by = 1): void {
    this.fam.get(labels).v += by;
  }
  dec(labels?: Labels, by = 1): void {
    this.fam.get(labels).v -= by;
  }
  /** One label set's value; with `labels` omitted on a labelled gauge, the sum over every series. */
  value(labels?: Labels): number {
    if (labels === undefined && this.fam.labelNames.length > 0) {
      let t = 0;
      for (const s of this.fam.series.values()) t += s.v;
      return t;
    }
    return this.fam.peek(labels)?.v ?? 0;
  }
  labelSets(): Labels[] {
    return this.fam.labelSets();
  }
}

class HistogramImpl implements HdrHistogram {
  readonly kind = 'histogram' as const;
  readonly fam: Family<LogLinearHistogram>;
  readonly lowest: number;
  readonly highest: number;
  readonly buckets: readonly number[];
  /** The single series of an unlabelled histogram, so `record(v)` skips the Map. */
  private readonly only: LogLinearHistogram | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    readonly unit: HistogramUnit,
    opts: HistogramOptions,
    limits: Limits,
  ) {
    this.lowest = opts.lowest ?? (unit === 'ms' ? 0.001 : unit === 'seconds' ? 1e-6 : 1);
    this.highest = opts.max ?? (unit === 'ms' ? 3_600_000 : unit === 'seconds' ? 3_600 : 2 ** 40);
    if (!(this.lowest > 0) || !(this.highest > this.lowest) || !Number.isFinite(this.highest)) {
      throw new MetricsError('METRICS_VALUE_INVALID', `histogram ${name}: need 0 < lowest < max (got ${this.lowest}, ${this.highest})`, { metric: name });
    }
    const b = opts.buckets ?? (unit === 'bytes' ? DEFAULT_BYTE_BUCKETS : unit === 'seconds' ? DEFAULT_MS_BUCKETS.map((x) => x / 1000) : DEFAULT_MS_BUCKETS);
    if (b.length > 100 || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!))) {
      throw new MetricsError('METRICS_VALUE_INVALID', `histogram ${name}: buckets must be finite, ascending and at most 100`, { metric: name });
    }
    this.buckets = [...b];
    const lo = this.lowest;
    const hi = this.highest;
    this.fam = new Family(name, labelNames, limits, () => new LogLinearHistogram(lo, hi));
    this.only = labelNames.length === 0 ? this.fam.get(undefined) : undefined;
  }

  record(value: number, labels?: Labels): void {
    (this.only ?? this.fam.get(labels)).record(value);
  }

  bind(labels?: Labels): BoundHistogram {
    const series = this.only ?? this.fam.get(labels);
    return { record: (value) => series.record(value) };
  }

  histogram(labels?: Labels): LogLinearHistogram {
    if (labels === undefined && this.fam.labelNames.length > 0) {
      const out = new LogLinearHistogram(this.lowest, this.highest);
      for (const s of this.fam.series.values()) out.add(s);
      return out;
    }
    return this.fam.peek(labels)?.clone() ?? new LogLinearHistogram(this.lowest, this.highest);
  }

  /** One series' figures; with `labels` omitted on a labelled histogram, every series merged. */
  snapshot(labels?: Labels): HistogramSnapshot {
    if (labels === undefined && this.fam.labelNames.length > 0) return this.histogram().summary();
    return (this.fam.peek(labels) ?? new LogLinearHistogram(this.lowest, this.highest)).summary();
  }

  labelSets(): Labels[] {
    return this.fam.labelSets();
  }
}

interface CallbackMetric {
  kind: 'callback';
  name: string;
  help: string;
  labelNames: readonly string[];
  collect: GaugeCallbackOptions['collect'];
  warned: boolean;
}

type Instrument = CounterImpl | GaugeImpl | HistogramImpl;

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `a="1",b="2"` (no braces), escaped. */
function labelPairs(names: readonly string[], labels: Labels): string {
  let out = '';
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabel(labels[names[i]!] ?? '')}"`;
  return out;
}

function labelText(names: readonly string[], labels: Labels, extra?: string): string {
  const pairs = labelPairs(names, labels);
  if (extra === undefined) return pairs === '' ? '' : `{${pairs}}`;
  return pairs === '' ? `{${extra}}` : `{${pairs},${extra}}`;
}

/** Abbreviated or non-base units promtool rejects, with the base unit and the factor to it. */
const UNIT_TOKENS: Readonly<Record<string, { base: string; factor: number }>> = {
  ns: { base: 'seconds', factor: 1e-9 },
  nanoseconds: { base: 'seconds', factor: 1e-9 },
  us: { base: 'seconds', factor: 1e-6 },
  microseconds: { base: 'seconds', factor: 1e-6 },
  ms: { base: 'seconds', factor: 1e-3 },
  milliseconds: { base: 'seconds', factor: 1e-3 },
  s: { base: 'seconds', factor: 1 },
  sec: { base: 'seconds', factor: 1 },
  h: { base: 'seconds', factor: 3600 },
  d: { base: 'seconds', factor: 86400 },
  b: { base: 'bytes', factor: 1 },
  kb: { base: 'bytes', factor: 1024 },
  mb: { base: 'bytes', factor: 1024 ** 2 },
  gb: { base: 'bytes', factor: 1024 ** 3 },
  tb: { base: 'bytes', factor: 1024 ** 4 },
};

/**
 * The name a metric is exposed under and the factor its values are multiplied by: Prometheus wants
 * base units and promtool rejects abbreviations, so `code_x_ms` is exposed as `code_x_seconds` (÷1000)
 * and `code_growth_mb_per_hour` as `code_growth_bytes_per_hour` (×2^20). A unit after `per` divides.
 */
export function exposedName(name: string): { name: string; scale: number } {
  const tokens = name.split('_');
  let scale = 1;
  let per = false;
  let changed = false;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === 'per') {
      per = true;
      continue;
    }
    const u = UNIT_TOKENS[t];
    if (u === undefined) continue;
    tokens[i] = u.base;
    scale = per ? scale / u.factor : scale * u.factor;
    changed = true;
  }
  return changed ? { name: tokens.join('_'), scale } : { name, scale: 1 };
}

class RegistryImpl implements Registry {
  private readonly instruments = new Map<string, Instrument | CallbackMetric>();
  /** Exposed family name → registered name, so two metrics never collide after unit rewriting. */
  private readonly exposedOwners = new Map<string, string>();
  private readonly limits: Limits;
  private readonly maxMetrics: number;

  constructor(opts: RegistryOptions) {
    const maxSeries = opts.maxSeriesPerMetric ?? 1_000;
    const maxLabelLength = opts.maxLabelValueLength ?? 200;
    this.maxMetrics = opts.maxMetrics ?? 2_000;
    for (const [k, v] of [['maxSeriesPerMetric', maxSeries], ['maxMetrics', this.maxMetrics], ['maxLabelValueLength', maxLabelLength]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new MetricsError('METRICS_VALUE_INVALID', `${k} must be a positive integer (got ${v})`, { key: k, value: v });
    }
    const sink =
      opts.onWarning ??
      ((w: MetricsWarning) => {
        process.emitWarning(w.message, { code: w.code });
      });
    this.limits = { maxSeries, maxLabelLength, warn: sink };
  }

  private check(opts: MetricOptions, kind: Instrument['kind'] | 'callback'): readonly string[] {
    const { name, help } = opts;
    if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > 200) {
      throw new MetricsError('METRICS_NAME_INVALID', `metric name "${String(name)}" is not a Prometheus name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 chars)`, { metric: name });
    }
    if (kind === 'counter' && !name.endsWith('_total')) {
      throw new MetricsError('METRICS_NAME_INVALID', `counter name "${name}" must end in _total`, { metric: name });
    }
    if (kind !== 'counter' && name.endsWith('_total')) {
      throw new MetricsError('METRICS_NAME_INVALID', `only counters may end in _total ("${name}")`, { metric: name });
    }
    if (typeof help !== 'string' || help.length === 0 || help.length > MAX_HELP_LENGTH) {
      throw new MetricsError('METRICS_NAME_INVALID', `metric ${name} needs a help text of 1..${MAX_HELP_LENGTH} chars`, { metric: name });
    }
    const labelNames = opts.labelNames ?? [];
    if (labelNames.length > MAX_LABEL_NAMES) {
      throw new MetricsError('METRICS_LABEL_INVALID', `metric ${name} declares ${labelNames.length} labels (at most ${MAX_LABEL_NAMES})`, { metric: name });
    }
    const seen = new Set<string>();
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || l === 'le' || l === 'quantile' || seen.has(l)) {
        throw new MetricsError('METRICS_LABEL_INVALID', `metric ${name}: label name "${l}" is invalid, reserved (le, quantile, __*) or repeated`, { metric: name, label: l });
      }
      seen.add(l);
    }
    return [...labelNames];
  }

  /** Returns the existing instrument when the same declaration is repeated; throws on a conflicting one. */
  private existing<T extends Instrument | CallbackMetric>(name: string, kind: T['kind'], labelNames: readonly string[]): T | undefined {
    const prev = this.instruments.get(name);
    if (prev === undefined) {
      if (this.instruments.size >= this.maxMetrics) {
        throw new MetricsError('METRICS_LIMIT', `metrics registry holds ${this.maxMetrics} metrics already; cannot add ${name}`, { metric: name, limit: this.maxMetrics });
      }
      return undefined;
    }
    const prevLabels = prev.kind === 'callback' ? prev.labelNames : prev.fam.labelNames;
    if (prev.kind !== kind || prevLabels.join(',') !== labelNames.join(',') || kind === 'callback') {
      throw new MetricsError('METRICS_CONFLICT', `metric ${name} is already registered as a ${prev.kind} with labels [${prevLabels.join(', ')}]`, { metric: name });
    }
    return prev as T;
  }

  /** Adds an instrument, refusing one whose exposed name (after unit rewriting) another already has. */
  private claim(name: string, m: Instrument | CallbackMetric): void {
    const exposed = exposedName(name).name;
    const families = m.kind === 'histogram' ? [exposed, `${exposed}_quantiles`] : [exposed];
    for (const f of families) {
      const owner = this.exposedOwners.get(f);
      if (owner !== undefined && owner !== name) {
        throw new MetricsError('METRICS_CONFLICT', `metric ${name} would be exposed as ${f}, which ${owner} already is`, { metric: name, exposed: f, owner });
      }
    }
    for (const f of families) this.exposedOwners.set(f, name);
    this.instruments.set(name, m);
  }

  counter(opts: MetricOptions): CounterEx {
    const labelNames = this.check(opts, 'counter');
    const prev = this.existing<CounterImpl>(opts.name, 'counter', labelNames);
    if (prev) return prev;
    const c = new CounterImpl(opts.name, opts.help, labelNames, this.limits);
    this.claim(opts.name, c);
    return c;
  }

  gauge(opts: MetricOptions): GaugeEx {
    const labelNames = this.check(opts, 'gauge');
    const prev = this.existing<GaugeImpl>(opts.name, 'gauge', labelNames);
    if (prev) return prev;
    const g = new GaugeImpl(opts.name, opts.help, labelNames, this.limits);
    this.claim(opts.name, g);
    return g;
  }

  gaugeCallback(opts: GaugeCallbackOptions): void {
    const labelNames = this.check(opts, 'callback');
    if (typeof opts.collect !== 'function') throw new MetricsError('METRICS_VALUE_INVALID', `gauge callback ${opts.name} needs a collect function`, { metric: opts.name });
    this.existing<CallbackMetric>(opts.name, 'callback', labelNames);
    this.claim(opts.name, { kind: 'callback', name: opts.name, help: opts.help, labelNames, collect: opts.collect, warned: false });
  }

  histogram(opts: HistogramOptions): HdrHistogram {
    const labelNames = this.check(opts, 'histogram');
    const unit = opts.unit ?? 'ms';
    if (unit !== 'ms' && unit !== 'seconds' && unit !== 'bytes') throw new MetricsError('METRICS_VALUE_INVALID', `histogram ${opts.name}: unknown unit ${String(unit)}`, { metric: opts.name });
    const prev = this.existing<HistogramImpl>(opts.name, 'histogram', labelNames);
    if (prev) {
      if (prev.unit !== unit) throw new MetricsError('METRICS_CONFLICT', `histogram ${opts.name} is already registered with unit ${prev.unit}`, { metric: opts.name });
      return prev;
    }
    const h = new HistogramImpl(opts.name, opts.help, labelNames, unit, opts, this.limits);
    this.claim(opts.name, h);
    return h;
  }

  get(name: string): CounterEx | GaugeEx | HdrHistogram | undefined {
    const m = this.instruments.get(name);
    return m === undefined || m.kind === 'callback' ? undefined : m;
  }

  readCallback(name: string): ReadonlyArray<{ labels: Labels; value: number }> | undefined {
    const m = this.instruments.get(name);
    if (m === undefined || m.kind !== 'callback') return undefined;
    return this.collect(m);
  }

  private collect(m: CallbackMetric): ReadonlyArray<{ labels: Labels; value: number }> {
    try {
      const r = m.collect();
      if (typeof r === 'number') return [{ labels: {}, value: r }];
      if (!Array.isArray(r)) throw new TypeError('collect() returned neither a number nor an array');
      return r.slice(0, this.limits.maxSeries);
    } catch (err) {
      if (!m.warned) {
        m.warned = true;
        this.limits.warn({ code: 'METRICS_COLLECT_FAILED', metric: m.name, message: `gauge callback ${m.name} failed: ${(err as Error).message}` });
      }
      return [];
    }
  }

  list(): MetricInfo[] {
    const out: MetricInfo[] = [];
    for (const m of this.instruments.values()) {
      if (m.kind === 'callback') out.push({ name: m.name, help: m.help, kind: 'gauge', labelNames: m.labelNames, series: -1, overflowed: false });
      else out.push({ name: m.name, help: m.help, kind: m.kind, labelNames: m.fam.labelNames, series: m.fam.series.size, overflowed: m.fam.overflowed });
    }
    return out;
  }

  stats(): RegistryStats {
    let series = 0;
    let overflowedMetrics = 0;
    let histogramBytes = 0;
    for (const m of this.instruments.values()) {
      if (m.kind === 'callback') continue;
      series += m.fam.series.size;
      if (m.fam.overflowed) overflowedMetrics++;
      if (m.kind === 'histogram') for (const h of m.fam.series.values()) histogramBytes += h.bytes();
    }
    return { metrics: this.instruments.size, series, overflowedMetrics, histogramBytes };
  }

  exposition(): string {
    const out: string[] = [];
    for (const m of this.instruments.values()) {
      const { name, scale } = exposedName(m.name);
      if (m.kind === 'callback') {
        const values = this.collect(m);
        out.push(`# HELP ${name} ${escapeHelp(m.help)}`, `# TYPE ${name} gauge`);
        for (const { labels, value } of values) out.push(`${name}${labelText(m.labelNames, labels)} ${num(value * scale)}`);
        continue;
      }
      if (m.kind !== 'histogram') {
        out.push(`# HELP ${name} ${escapeHelp(m.help)}`, `# TYPE ${name} ${m.kind}`);
        for (const [key, s] of m.fam.series) out.push(`${name}${labelText(m.fam.labelNames, m.fam.labelsOf.get(key)!)} ${num(s.v * scale)}`);
        continue;
      }
      const names = m.fam.labelNames;
      const les = m.buckets.map((b) => num(b * scale));
      const hist: string[] = [`# HELP ${name} ${escapeHelp(m.help)}`, `# TYPE ${name} histogram`];
      const quant: string[] = [`# HELP ${name}_quantiles ${escapeHelp(m.help)} (quantiles since start, HDR precision)`, `# TYPE ${name}_quantiles summary`];
      for (const [key, s] of m.fam.series) {
        // The label pairs are built once per series and shared by its ~25 lines.
        const pairs = labelPairs(names, m.fam.labelsOf.get(key)!);
        const open = pairs === '' ? '{' : `{${pairs},`;
        const plain = pairs === '' ? '' : `{${pairs}}`;
        const cum = s.cumulativeAt(m.buckets);
        for (let i = 0; i < les.length; i++) hist.push(`${name}_bucket${open}le="${les[i]}"} ${cum[i]}`);
        hist.push(`${name}_bucket${open}le="+Inf"} ${s.count}`);
        hist.push(`${name}_sum${plain} ${num(s.sum * scale)}`, `${name}_count${plain} ${s.count}`);
        const qs = s.quantiles(QUANTILES);
        for (let i = 0; i < QUANTILES.length; i++) quant.push(`${name}_quantiles${open}quantile="${QUANTILES[i]}"} ${num(qs[i]! * scale)}`);
        quant.push(`${name}_quantiles_sum${plain} ${num(s.sum * scale)}`, `${name}_quantiles_count${plain} ${s.count}`);
      }
      for (const line of hist) out.push(line);
      for (const line of quant) out.push(line);
    }
    return out.join('\n') + '\n';
  }
}

const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

/** Builds a registry. Options bound memory (series per metric, metric count) and route warnings. */
export function createMetricsRegistry(opts: RegistryOptions = {}): Registry {
  return new RegistryImpl(opts);
}
