/**
 * The metrics contract every part of CODE records into. Recording must be cheap (a hot path calls it
 * per request / per cache get), so instruments are created once and kept; label values are passed per call.
 *
 *   const hits = metrics.counter({ name: 'code_cache_hits_total', help: 'Cache hits', labelNames: ['layer'] });
 *   hits.inc({ layer: 'l1' });
 *   const lat = metrics.histogram({ name: 'code_http_request_duration_ms', help: '...', labelNames: ['route'] });
 *   lat.record(12.5, { route: '/v1/checks' });
 */
export type Labels = Readonly<Record<string, string>>;

export interface MetricOptions {
  /** Prometheus name, snake_case, prefixed `code_`; counters end in `_total`. */
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  /** Current value for one label set (0 when never incremented). */
  value(labels?: Labels): number;
  /** The series of one label set, looked up once: for a hot path that records into the same few label sets. */
  bind(labels?: Labels): BoundCounter;
}

/** One series of a counter (see `Counter.bind`). */
export interface BoundCounter {
  inc(by?: number): void;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
  value(labels?: Labels): number;
}

export interface HistogramSnapshot {
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
}

export interface Histogram {
  /** Records one observation, in the histogram's unit (milliseconds for latencies). */
  record(value: number, labels?: Labels): void;
  snapshot(labels?: Labels): HistogramSnapshot;
  /** The series of one label set, looked up once (see `Counter.bind`). */
  bind(labels?: Labels): BoundHistogram;
}

/** One series of a histogram (see `Histogram.bind`). */
export interface BoundHistogram {
  record(value: number): void;
}

export interface GaugeCallbackOptions extends MetricOptions {
  /** Called at scrape / snapshot time; returns one value, or values per label set. */
  collect: () => number | ReadonlyArray<{ labels: Labels; value: number }>;
}

export interface MetricsRegistry {
  counter(opts: MetricOptions): Counter;
  gauge(opts: MetricOptions): Gauge;
  /** A gauge whose value is read when somebody looks (memory, pool sizes): costs nothing otherwise. */
  gaugeCallback(opts: GaugeCallbackOptions): void;
  histogram(opts: MetricOptions & { unit?: 'ms' | 'bytes' | 'seconds'; max?: number }): Histogram;
  /** Prometheus text exposition format 0.0.4. */
  exposition(): string;
}
