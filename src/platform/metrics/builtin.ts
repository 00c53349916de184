/**
 * The KPIs of the planning document that need no other part: HTTP latency percentiles, throughput
 * and error rate (from the request instruments the server records into), process memory and the
 * event loop. Parts that come later (cache hit rate, pool utilisation, memory level) register their
 * own KPIs with `kpis.register(...)`; their names are listed in KPI_NAMES so rules can refer to them.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { HistogramWindow, quantileOverWindow, ratioOverWindow, rateOverWindow, type KpiRegistry } from './kpis.js';
import type { CounterEx, GaugeEx, HdrHistogram, Registry } from './registry.js';
import type { BoundCounter, BoundHistogram } from './types.js';

/** KPI names the default alert rules and the dashboard know. */
export const KPI_NAMES = {
  latencyP50: 'http.latency.p50',
  latencyP95: 'http.latency.p95',
  latencyP99: 'http.latency.p99',
  throughput: 'http.throughput',
  errorRate: 'http.error_rate',
  rss: 'process.memory.rss',
  heapUsed: 'process.memory.heap_used',
  eventLoopDelay: 'process.eventloop.delay_p99',
  eventLoopUtilization: 'process.eventloop.utilization',
  /** Registered by the cache when it exists: hits / (hits + misses), %. */
  cacheHitRate: 'cache.hit_rate',
  /** Registered by the store / HTTP pools when they exist: busy / total connections, %. */
  poolUtilization: 'pool.utilization',
  /** Registered by the pools: wait for a connection, P95 ms. */
  poolWait: 'pool.wait_p95',
} as const;

/** The instruments the server's request hook records into. */
export const HTTP_METRICS = {
  duration: 'code_http_request_duration_ms',
  requests: 'code_http_requests_total',
  errors: 'code_http_request_errors_total',
  inFlight: 'code_http_requests_in_flight',
} as const;

export interface HttpInstruments {
  /** Latency, ms, by method, route (the route pattern, never the raw URL) and status code. */
  duration: HdrHistogram;
  requests: CounterEx;
  /** Responses with status ≥ 500, by route. */
  errors: CounterEx;
  inFlight: GaugeEx;
}

/** Declares (or returns, when already declared) the request instruments. */
export function httpInstruments(metrics: Registry): HttpInstruments {
  return {
    duration: metrics.histogram({ name: HTTP_METRICS.duration, help: 'HTTP request latency, from request received to response sent', labelNames: ['method', 'route', 'status'] }),
    requests: metrics.counter({ name: HTTP_METRICS.requests, help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'] }),
    errors: metrics.counter({ name: HTTP_METRICS.errors, help: 'HTTP responses with a 5xx status', labelNames: ['route'] }),
    inFlight: metrics.gauge({ name: HTTP_METRICS.inFlight, help: 'HTTP requests being handled' }),
  };
}

/** Records one answered request of a route: method, status code, latency in ms. */
export type ResponseMeter = (method: string, status: number, ms: number) => void;

interface BoundResponseSeries {
  duration: BoundHistogram;
  requests: BoundCounter;
  errors: BoundCounter | undefined;
}

/**
 * The request instruments of one route pattern, their series looked up once per method and status
 * code and kept: the request hook then neither builds a label object nor walks the label maps.
 */
export function responseMeter(http: HttpInstruments, route: string): ResponseMeter {
  const byMethod = new Map<string, Array<BoundResponseSeries | undefined>>();
  return (method, status, ms) => {
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = []));
    let s = byStatus[status];
    if (s === undefined) {
      const labels = { method, route, status: String(status) };
      s = byStatus[status] = { duration: http.duration.bind(labels), requests: http.requests.bind(labels), errors: status >= 500 ? http.errors.bind({ route }) : undefined };
    }
    s.duration.record(ms);
    s.requests.inc();
    s.errors?.inc();
  };
}

/** Registers the HTTP KPIs over a sliding window of `windowMs`. Returns a function removing them. */
export function registerHttpKpis(kpis: KpiRegistry, metrics: Registry, windowMs: number): () => void {
  const http = httpInstruments(metrics);
  const window = new HistogramWindow(() => http.duration.histogram(), windowMs);
  const secs = windowMs / 1000;
  const removers = [
    kpis.register({ name: KPI_NAMES.latencyP50, title: 'Latency P50', unit: 'ms', group: 'http', description: `Median request latency over the last ${secs} s`, read: quantileOverWindow(window, 0.5) }),
    kpis.register({ name: KPI_NAMES.latencyP95, title: 'Latency P95', unit: 'ms', group: 'http', description: `95th percentile request latency over the last ${secs} s`, read: quantileOverWindow(window, 0.95) }),
    kpis.register({ name: KPI_NAMES.latencyP99, title: 'Latency P99', unit: 'ms', group: 'http', description: `99th percentile request latency over the last ${secs} s`, read: quantileOverWindow(window, 0.99) }),
    kpis.register({ name: KPI_NAMES.throughput, title: 'Throughput', unit: 'req/s', group: 'http', description: `Requests answered per second over the last ${secs} s`, read: rateOverWindow(() => http.requests.value(), windowMs) }),
    kpis.register({
      name: KPI_NAMES.errorRate,
      title: 'Error rate',
      unit: '%',
      group: 'http',
      description: `Share of responses with a 5xx status over the last ${secs} s`,
      read: ratioOverWindow(() => http.errors.value(), () => http.requests.value(), windowMs, 100),
    }),
  ];
  return () => removers.forEach((r) => r());
}

const MiB = 1024 * 1024;

/**
 * Registers process memory and event-loop KPIs. Memory is in MiB (shown as MB). The event-loop delay
 * is the P99 over each sampling interval. Returns a function that removes them and stops the sampler.
 */
export function registerProcessKpis(kpis: KpiRegistry, opts: { resolutionMs?: number } = {}): () => void {
  let delay: IntervalHistogram | undefined = monitorEventLoopDelay({ resolution: opts.resolutionMs ?? 10 });
  delay.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  // One memoryUsage() call per sample serves both memory KPIs.
  let memAt = NaN;
  let mem: NodeJS.MemoryUsage | undefined;
  const memory = (now: number): NodeJS.MemoryUsage => {
    if (mem === undefined || memAt !== now) {
      mem = process.memoryUsage();
      memAt = now;
    }
    return mem;
  };
  const removers = [
    kpis.register({ name: KPI_NAMES.rss, title: 'Memory (RSS)', unit: 'MB', group: 'process', description: 'Resident set size of the engine process, MiB', read: ({ now }) => memory(now).rss / MiB }),
    kpis.register({ name: KPI_NAMES.heapUsed, title: 'Heap used', unit: 'MB', group: 'process', description: 'V8 heap in use, MiB', read: ({ now }) => memory(now).heapUsed / MiB }),
    kpis.register({
      name: KPI_NAMES.eventLoopDelay,
      title: 'Event-loop delay P99',
      unit: 'ms',
      group: 'process',
      description: 'P99 of the event-loop delay over the last sampling interval',
      read: () => {
        if (delay === undefined || delay.count === 0) return NaN;
        const v = delay.percentile(99) / 1e6;
        delay.reset();
        return v;
      },
    }),
    kpis.register({
      name: KPI_NAMES.eventLoopUtilization,
      title: 'Event-loop utilisation',
      unit: '%',
      group: 'process',
      description: 'Share of time the event loop was busy over the last sampling interval',
      read: () => {
        const now = performance.eventLoopUtilization();
        const d = performance.eventLoopUtilization(now, elu);
        elu = now;
        return d.utilization * 100;
      },
    }),
  ];
  return () => {
    removers.forEach((r) => r());
    delay?.disable();
    delay = undefined;
  };
}
