import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createMetricsRegistry, exposedName, OVERFLOW_LABEL_VALUE, type MetricsWarning } from '../../../src/platform/metrics/registry.js';
import { LogLinearHistogram } from '../../../src/platform/metrics/loglinear.js';
import { httpInstruments, responseMeter } from '../../../src/platform/metrics/builtin.js';
import { hasCode } from '../../../src/platform/errors.js';

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is required (apt-get install -y prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('histogram quantiles are within 1% of exact ones on several distributions', () => {
  const rand = rng(42);
  const distributions: Record<string, () => number> = {
    uniform: () => 1 + rand() * 999,
    logUniform: () => Math.exp(rand() * 12) / 100,
    bimodal: () => (rand() < 0.9 ? 2 + rand() : 150 + rand() * 50),
    subMillisecond: () => 0.002 + rand() * 0.05,
  };
  for (const [name, draw] of Object.entries(distributions)) {
    const reg = createMetricsRegistry();
    const h = reg.histogram({ name: 'code_test_latency_ms', help: 'test' });
    const xs: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const v = draw();
      xs.push(v);
      h.record(v);
    }
    xs.sort((a, b) => a - b);
    const s = h.snapshot();
    assert.equal(s.count, xs.length);
    assert.equal(s.min, xs[0]);
    assert.equal(s.max, xs[xs.length - 1]);
    for (const [q, got] of [[0.5, s.p50], [0.95, s.p95], [0.99, s.p99], [0.999, s.p999]] as const) {
      const exact = exactQuantile(xs, q);
      const err = Math.abs(got - exact) / exact;
      assert.ok(err < 0.01, `${name} q${q}: got ${got}, exact ${exact}, error ${(err * 100).toFixed(3)}%`);
    }
  }
});

test('an empty histogram reports NaN quantiles and zero count', () => {
  const h = createMetricsRegistry().histogram({ name: 'code_empty_ms', help: 'x' });
  const s = h.snapshot();
  assert.equal(s.count, 0);
  assert.ok(Number.isNaN(s.p99) && Number.isNaN(s.mean));
  h.record(NaN);
  assert.equal(h.snapshot().count, 0, 'NaN is ignored');
});

test('values outside the range still count, with exact min and max', () => {
  const h = createMetricsRegistry().histogram({ name: 'code_range_ms', help: 'x', max: 1000 });
  h.record(-5);
  h.record(0);
  h.record(50_000);
  const s = h.snapshot();
  assert.equal(s.count, 3);
  assert.equal(s.min, -5);
  assert.equal(s.max, 50_000);
  assert.equal(s.p999, 50_000);
});

test('window between two copies holds only what came after', () => {
  const a = new LogLinearHistogram(0.001, 60_000);
  for (let i = 0; i < 1000; i++) a.record(1);
  const before = a.clone();
  for (let i = 0; i < 100; i++) a.record(300);
  const w = a.since(before);
  assert.equal(w.count, 100);
  assert.ok(Math.abs(w.quantile(0.5) - 300) / 300 < 0.01);
  assert.ok(Math.abs(a.quantile(0.5) - 1) < 0.01, 'cumulative median still 1');
});

test('counters, gauges and labels: per-series values and sums', () => {
  const reg = createMetricsRegistry();
  const c = reg.counter({ name: 'code_hits_total', help: 'hits', labelNames: ['layer'] });
  c.inc({ layer: 'l1' });
  c.inc({ layer: 'l1' }, 2);
  c.inc({ layer: 'l2' });
  assert.equal(c.value({ layer: 'l1' }), 3);
  assert.equal(c.value({ layer: 'l3' }), 0);
  assert.equal(c.value(), 4, 'no labels: sum across series');
  assert.throws(() => c.inc({ layer: 'l1' }, -1), (e) => hasCode(e, 'METRICS_VALUE_INVALID'));

  const g = reg.gauge({ name: 'code_inflight', help: 'in flight', labelNames: ['route', 'method'] });
  g.inc({ route: '/a', method: 'GET' });
  g.inc({ route: '/a', method: 'GET' });
  g.dec({ route: '/a', method: 'GET' });
  g.set(7, { route: '/b', method: 'POST' });
  assert.equal(g.value({ route: '/a', method: 'GET' }), 1);
  assert.equal(g.value({ route: '/a', method: 'POST' }), 0);
  assert.equal(g.value(), 8);
  assert.deepEqual(g.labelSets().map((l) => `${l.route} ${l.method}`).sort(), ['/a GET', '/b POST']);

  const h = reg.histogram({ name: 'code_lat_ms', help: 'lat', labelNames: ['route'] });
  h.record(10, { route: '/a' });
  h.record(20, { route: '/b' });
  assert.equal(h.snapshot({ route: '/a' }).count, 1);
  assert.equal(h.snapshot().count, 2);
  assert.equal(h.snapshot().max, 20);
});

test('bound series record into the same series as labelled calls, and past the cap into the overflow', () => {
  const reg = createMetricsRegistry({ maxSeriesPerMetric: 2 });
  const c = reg.counter({ name: 'code_bound_total', help: 'b', labelNames: ['route'] });
  const a = c.bind({ route: '/a' });
  a.inc();
  a.inc(2);
  c.inc({ route: '/a' });
  assert.equal(c.value({ route: '/a' }), 4, 'bound and labelled calls share the series');
  assert.throws(() => a.inc(-1), (e) => hasCode(e, 'METRICS_VALUE_INVALID'));
  c.bind({ route: '/b' }).inc();
  c.bind({ route: '/c' }).inc(5); // third label set: over the cap of 2
  assert.equal(c.value({ route: OVERFLOW_LABEL_VALUE }), 5);
  assert.equal(c.value(), 10, 'nothing lost');

  const h = reg.histogram({ name: 'code_bound_ms', help: 'b', labelNames: ['route'] });
  const hb = h.bind({ route: '/a' });
  hb.record(10);
  h.record(30, { route: '/a' });
  assert.equal(h.snapshot({ route: '/a' }).count, 2);
  assert.equal(h.snapshot({ route: '/a' }).max, 30);
  const only = reg.histogram({ name: 'code_bound_only_ms', help: 'b' }).bind();
  only.record(1);
  assert.match(reg.exposition(), /^code_bound_only_seconds_count 1$/m);
});

test('responseMeter: series per method and status, errors only for 5xx, in the same families as the labelled form', () => {
  const reg = createMetricsRegistry();
  const http = httpInstruments(reg);
  const meter = responseMeter(http, '/v1/x');
  meter('GET', 200, 3);
  meter('GET', 200, 5);
  meter('POST', 503, 7);
  assert.equal(http.requests.value({ method: 'GET', route: '/v1/x', status: '200' }), 2);
  assert.equal(http.requests.value({ method: 'POST', route: '/v1/x', status: '503' }), 1);
  assert.equal(http.errors.value({ route: '/v1/x' }), 1);
  assert.equal(http.duration.snapshot({ method: 'GET', route: '/v1/x', status: '200' }).count, 2);
  assert.equal(http.duration.snapshot({ method: 'POST', route: '/v1/x', status: '503' }).max, 7);
});

test('declaring the same metric twice returns it; a conflicting declaration throws', () => {
  const reg = createMetricsRegistry();
  const a = reg.counter({ name: 'code_x_total', help: 'x', labelNames: ['a'] });
  assert.equal(reg.counter({ name: 'code_x_total', help: 'x', labelNames: ['a'] }), a);
  assert.throws(() => reg.counter({ name: 'code_x_total', help: 'x', labelNames: ['b'] }), (e) => hasCode(e, 'METRICS_CONFLICT'));
  assert.throws(() => reg.gauge({ name: 'code_x_total', help: 'x' }), (e) => hasCode(e, 'METRICS_NAME_INVALID'));
  assert.throws(() => reg.gauge({ name: 'code_y', help: 'x' }) && reg.histogram({ name: 'code_y', help: 'x' }), (e) => hasCode(e, 'METRICS_CONFLICT'));
  assert.throws(() => reg.counter({ name: 'code_no_suffix', help: 'x' }), (e) => hasCode(e, 'METRICS_NAME_INVALID'));
  assert.throws(() => reg.gauge({ name: 'code bad', help: 'x' }), (e) => hasCode(e, 'METRICS_NAME_INVALID'));
  assert.throws(() => reg.gauge({ name: 'code_z', help: '' }), (e) => hasCode(e, 'METRICS_NAME_INVALID'));
  assert.throws(() => reg.gauge({ name: 'code_z', help: 'x', labelNames: ['le'] }), (e) => hasCode(e, 'METRICS_LABEL_INVALID'));
  assert.throws(() => reg.gauge({ name: 'code_z', help: 'x', labelNames: ['a', 'a'] }), (e) => hasCode(e, 'METRICS_LABEL_INVALID'));
  const g = reg.gauge({ name: 'code_w', help: 'x', labelNames: ['a'] });
  assert.throws(() => g.set(1, { a: '1', b: '2' }), (e) => hasCode(e, 'METRICS_LABEL_INVALID') && /no label "b"/.test((e as Error).message));
});

test('the metric count is bounded', () => {
  const reg = createMetricsRegistry({ maxMetrics: 3 });
  reg.gauge({ name: 'code_a', help: 'x' });
  reg.gauge({ name: 'code_b', help: 'x' });
  reg.gauge({ name: 'code_c', help: 'x' });
  assert.throws(() => reg.gauge({ name: 'code_d', help: 'x' }), (e) => hasCode(e, 'METRICS_LIMIT'));
});

test('past the cardinality cap: one overflow series, one warning, nothing lost', () => {
  const warnings: MetricsWarning[] = [];
  const reg = createMetricsRegistry({ maxSeriesPerMetric: 5, onWarning: (w) => warnings.push(w) });
  const c = reg.counter({ name: 'code_req_total', help: 'x', labelNames: ['user'] });
  const h = reg.histogram({ name: 'code_req_ms', help: 'x', labelNames: ['user', 'route'] });
  for (let i = 0; i < 10_000; i++) {
    c.inc({ user: `u${i}` });
    h.record(i % 100, { user: `u${i}`, route: '/r' });
  }
  assert.equal(c.labelSets().length, 6, '5 real series + 1 overflow');
  assert.equal(h.labelSets().length, 6);
  assert.equal(c.value({ user: OVERFLOW_LABEL_VALUE }), 9_995);
  assert.equal(c.value(), 10_000);
  assert.equal(h.snapshot().count, 10_000);
  assert.deepEqual(warnings.map((w) => `${w.code} ${w.metric}`), ['METRICS_CARDINALITY code_req_total', 'METRICS_CARDINALITY code_req_ms']);
  assert.equal(reg.stats().overflowedMetrics, 2);
  assert.equal(reg.stats().series, 12);
  assert.equal(promtool(reg.exposition()).status, 0);
});

test('long label values are cut, keeping the series count bounded', () => {
  const reg = createMetricsRegistry({ maxLabelValueLength: 10 });
  const c = reg.counter({ name: 'code_long_total', help: 'x', labelNames: ['path'] });
  c.inc({ path: 'x'.repeat(5_000) });
  c.inc({ path: 'x'.repeat(6_000) });
  const sets = c.labelSets();
  assert.equal(sets.length, 1);
  assert.equal(sets[0]!.path!.length, 10);
  assert.equal(c.value(), 2);
});

test('a failing gauge callback warns once and the rest of the exposition survives', () => {
  const warnings: MetricsWarning[] = [];
  const reg = createMetricsRegistry({ onWarning: (w) => warnings.push(w) });
  reg.gaugeCallback({ name: 'code_broken', help: 'x', collect: () => { throw new Error('boom'); } });
  reg.gaugeCallback({ name: 'code_pool', help: 'x', labelNames: ['pool'], collect: () => [{ labels: { pool: 'a' }, value: 3 }, { labels: { pool: 'b' }, value: 4 }] });
  reg.counter({ name: 'code_ok_total', help: 'x' }).inc();
  const t1 = reg.exposition();
  reg.exposition();
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.code, 'METRICS_COLLECT_FAILED');
  assert.match(t1, /^code_pool\{pool="b"\} 4$/m);
  assert.match(t1, /^code_ok_total 1$/m);
  assert.deepEqual(reg.readCallback('code_pool'), [{ labels: { pool: 'a' }, value: 3 }, { labels: { pool: 'b' }, value: 4 }]);
  assert.equal(promtool(t1).status, 0);
});

test('exposition: ms histograms in seconds, monotonic buckets, +Inf equals count, escaping; promtool accepts it', () => {
  const reg = createMetricsRegistry();
  const h = reg.histogram({ name: 'code_http_request_duration_ms', help: 'Request latency\nwith "quotes" \\ and a newline', labelNames: ['route'] });
  const weird = 'a"b\\c\nd';
  const rand = rng(7);
  for (let i = 0; i < 5_000; i++) h.record(rand() * 300, { route: i % 3 === 0 ? weird : '/v1/checks' });
  reg.histogram({ name: 'code_payload_bytes', help: 'sizes', unit: 'bytes' }).record(12_345);
  reg.gauge({ name: 'code_temperature', help: 'x' }).set(-Infinity);
  const text = reg.exposition();
  assert.doesNotMatch(text, /_ms[_{ ]/, 'no millisecond names exposed');
  const buckets = [...text.matchAll(/^code_http_request_duration_seconds_bucket\{route="\/v1\/checks",le="([^"]+)"\} (\d+)$/gm)];
  assert.ok(buckets.length > 10);
  const counts = buckets.map((m) => Number(m[2]));
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! >= counts[i - 1]!, 'buckets are cumulative');
  const total = h.snapshot({ route: '/v1/checks' }).count;
  assert.equal(buckets.at(-1)![1], '+Inf');
  assert.equal(counts.at(-1), total);
  const le100 = buckets.find((m) => m[1] === '0.1')!;
  // Uniform 0..300 ms: about a third at or below 100 ms; the fine-bucket rounding is well under 1%.
  const exactBelow = Math.round(total / 3);
  assert.ok(Math.abs(Number(le100[2]) - exactBelow) < total * 0.05, `le=0.1 count ${le100[2]} vs ~${exactBelow}`);
  const p99 = Number(/^code_http_request_duration_seconds_quantiles\{route="\/v1\/checks",quantile="0.99"\} (\S+)$/m.exec(text)![1]);
  assert.ok(Math.abs(p99 - 0.297) < 0.005, `p99 ${p99}s`);
  assert.ok(text.includes('route="a\\"b\\\\c\\nd"'), 'label value escaped');
  assert.match(text, /^code_temperature -Inf$/m);
  const r = promtool(text);
  assert.equal(r.status, 0, r.out);
});

test('promtool rejects a broken exposition (the check can fail)', () => {
  const r = promtool('# TYPE code_bad counter\ncode_bad{x="1" 1\n');
  assert.notEqual(r.status, 0);
});

test('abbreviated units are exposed in base units, and exposed names never collide', () => {
  assert.deepEqual(exposedName('code_eventloop_delay_p99_ms'), { name: 'code_eventloop_delay_p99_seconds', scale: 1e-3 });
  assert.deepEqual(exposedName('code_memory_heap_growth_mb_per_hour'), { name: 'code_memory_heap_growth_bytes_per_hour', scale: 1024 ** 2 });
  assert.deepEqual(exposedName('code_items_per_ms'), { name: 'code_items_per_seconds', scale: 1000 });
  assert.deepEqual(exposedName('code_cache_hits_total'), { name: 'code_cache_hits_total', scale: 1 });
  const reg = createMetricsRegistry();
  reg.gauge({ name: 'code_delay_ms', help: 'x' }).set(250);
  reg.counter({ name: 'code_busy_ms_total', help: 'x' }).inc(undefined, 1500);
  reg.gaugeCallback({ name: 'code_growth_mb_per_hour', help: 'x', collect: () => 2 });
  const text = reg.exposition();
  assert.match(text, /^code_delay_seconds 0\.25$/m);
  assert.match(text, /^code_busy_seconds_total 1\.5$/m);
  assert.match(text, /^code_growth_bytes_per_hour 2097152$/m);
  const r = promtool(text);
  assert.equal(r.status, 0, r.out);
  assert.throws(() => reg.gauge({ name: 'code_delay_seconds', help: 'x' }), (e) => hasCode(e, 'METRICS_CONFLICT'));
  assert.throws(() => reg.gauge({ name: 'code_lat_seconds_quantiles', help: 'x' }) && reg.histogram({ name: 'code_lat_ms', help: 'x' }), (e) => hasCode(e, 'METRICS_CONFLICT'));
});
