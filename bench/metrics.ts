// `npm run bench -- metrics [--rounds N] [--ops N]`: our registry vs prom-client, in one run.
// Each figure alternates ours and the peer for several rounds (order flipped every round) and reports
// the median ops/s of each; ratio = ours / peer. Values are pre-generated so both pay the same input cost.
import client from 'prom-client';
import { createMetricsRegistry } from '../src/platform/metrics/registry.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const ROUNDS = arg('rounds', 7);
const OPS = arg('ops', 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: (n: number) => void, n: number): number {
  gc?.();
  const t0 = process.hrtime.bigint();
  fn(n);
  const ns = Number(process.hrtime.bigint() - t0);
  return (n / ns) * 1e9;
}

function compare(bench: string, peer: string, ours: (n: number) => void, theirs: (n: number) => void, ops = OPS): void {
  // Warm both up so the JIT has settled before the first measured round.
  ours(Math.min(ops, 200_000));
  theirs(Math.min(ops, 200_000));
  const o: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      o.push(time(ours, ops));
      p.push(time(theirs, ops));
    } else {
      p.push(time(theirs, ops));
      o.push(time(ours, ops));
    }
  }
  const ours_ops = Math.round(median(o));
  const peer_ops = Math.round(median(p));
  console.log(JSON.stringify({ bench, ours_ops, peer, peer_ops, ratio: Number((ours_ops / peer_ops).toFixed(2)), rounds: ROUNDS, ops_per_round: ops }));
}

// Latencies with a realistic spread (0.1 ms .. 300 ms, log-uniform), shared by both sides.
const N_VALUES = 1 << 16;
const values = new Float64Array(N_VALUES);
for (let i = 0; i < N_VALUES; i++) values[i] = Math.exp(Math.random() * 8) / 10;
const ROUTES = ['/v1/checks', '/v1/kpis', '/v1/alerts', '/metrics', '/v1/flags', '/health', '/ready', '/'];
const routeLabels = ROUTES.map((route) => ({ route }));
const twoLabels = ROUTES.flatMap((route) => ['200', '500'].map((status) => ({ route, status })));

const ours = createMetricsRegistry();
const promRegistry = new client.Registry();
const LE_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 120, 150, 250, 500, 1000, 2500, 5000, 10000, 30000];

// 1. Histogram record, no labels.
{
  const h = ours.histogram({ name: 'code_bench_plain_ms', help: 'bench' });
  const ph = new client.Histogram({ name: 'bench_plain_ms', help: 'bench', buckets: LE_MS, registers: [promRegistry] });
  compare(
    'metrics.histogram.record',
    'prom-client',
    (n) => {
      for (let i = 0; i < n; i++) h.record(values[i & (N_VALUES - 1)]!);
    },
    (n) => {
      for (let i = 0; i < n; i++) ph.observe(values[i & (N_VALUES - 1)]!);
    },
  );
}

// 2. Histogram record with one label (8 routes).
{
  const h = ours.histogram({ name: 'code_bench_route_ms', help: 'bench', labelNames: ['route'] });
  const ph = new client.Histogram({ name: 'bench_route_ms', help: 'bench', buckets: LE_MS, labelNames: ['route'], registers: [promRegistry] });
  compare(
    'metrics.histogram.record.labels1',
    'prom-client',
    (n) => {
      for (let i = 0; i < n; i++) h.record(values[i & (N_VALUES - 1)]!, routeLabels[i & 7]);
    },
    (n) => {
      for (let i = 0; i < n; i++) ph.observe(routeLabels[i & 7]!, values[i & (N_VALUES - 1)]!);
    },
  );
}

// 3. Histogram record with two labels (16 series).
{
  const h = ours.histogram({ name: 'code_bench_route_status_ms', help: 'bench', labelNames: ['route', 'status'] });
  const ph = new client.Histogram({ name: 'bench_route_status_ms', help: 'bench', buckets: LE_MS, labelNames: ['route', 'status'], registers: [promRegistry] });
  compare(
    'metrics.histogram.record.labels2',
    'prom-client',
    (n) => {
      for (let i = 0; i < n; i++) h.record(values[i & (N_VALUES - 1)]!, twoLabels[i & 15]);
    },
    (n) => {
      for (let i = 0; i < n; i++) ph.observe(twoLabels[i & 15]!, values[i & (N_VALUES - 1)]!);
    },
  );
}

// 4. Counter inc, no labels and one label.
{
  const c = ours.counter({ name: 'code_bench_plain_total', help: 'bench' });
  const pc = new client.Counter({ name: 'bench_plain_total', help: 'bench', registers: [promRegistry] });
  compare(
    'metrics.counter.inc',
    'prom-client',
    (n) => {
      for (let i = 0; i < n; i++) c.inc();
    },
    (n) => {
      for (let i = 0; i < n; i++) pc.inc();
    },
  );
  const cl = ours.counter({ name: 'code_bench_route_total', help: 'bench', labelNames: ['route'] });
  const pcl = new client.Counter({ name: 'bench_route_total', help: 'bench', labelNames: ['route'], registers: [promRegistry] });
  compare(
    'metrics.counter.inc.labels1',
    'prom-client',
    (n) => {
      for (let i = 0; i < n; i++) cl.inc(routeLabels[i & 7]);
    },
    (n) => {
      for (let i = 0; i < n; i++) pcl.inc(routeLabels[i & 7]!);
    },
  );
}

// 5. Exposition of the registries above (ours is sync; prom-client's metrics() is async).
{
  const rounds: number[][] = [[], []];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) ours.exposition();
    rounds[0]!.push(50 / (Number(process.hrtime.bigint() - t0) / 1e9));
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) await promRegistry.metrics();
    rounds[1]!.push(50 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  const o = Math.round(median(rounds[0]!));
  const p = Math.round(median(rounds[1]!));
  console.log(JSON.stringify({ bench: 'metrics.exposition', ours_ops: o, peer: 'prom-client', peer_ops: p, ratio: Number((o / p).toFixed(2)), rounds: ROUNDS, note: 'ours also writes 5 quantiles per histogram series' }));
}
