import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { createMonitor, type AlertHistory } from '../../../src/platform/metrics/monitor.js';
import { AlertEngine, validateRules, type AlertEvent, type AlertRule } from '../../../src/platform/metrics/alerts.js';
import { EwmaDetector } from '../../../src/platform/metrics/anomaly.js';
import { HistogramWindow, quantileOverWindow, ratioOverWindow, rateOverWindow, KpiRegistry } from '../../../src/platform/metrics/kpis.js';
import { logNotifier, NotificationQueue, webhookNotifier, type HttpPost, type WebhookPayload } from '../../../src/platform/metrics/notifiers.js';
import { registerHttpKpis, registerProcessKpis, httpInstruments, KPI_NAMES } from '../../../src/platform/metrics/builtin.js';
import { hasCode } from '../../../src/platform/errors.js';

/** A real HTTP receiver on 127.0.0.1:0 that records what it gets and answers with `plan` statuses in turn. */
async function receiver(plan: Array<number | 'hang'> = []): Promise<{ url: string; bodies: WebhookPayload[]; attempts: number; close: () => Promise<void>; server: Server }> {
  const bodies: WebhookPayload[] = [];
  const state = { attempts: 0 };
  const hanging: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const step = plan[state.attempts] ?? 200;
      state.attempts++;
      if (step === 'hang') {
        hanging.push(req);
        return;
      }
      if (step >= 200 && step < 300) bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload);
      res.writeHead(step, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    get attempts() {
      return state.attempts;
    },
    server,
    close: () => {
      for (const req of hanging) req.socket.destroy();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An HttpPost over undici (a real client); the engine uses its own net client the same way. */
const post: HttpPost = async (url, body, { headers, signal }) => {
  const res = await request(url, { method: 'POST', body, headers, signal });
  await res.body.dump();
  return { status: res.statusCode };
};

class MemoryHistory implements AlertHistory {
  events: AlertEvent[] = [];
  async append(e: AlertEvent): Promise<void> {
    this.events.push(e);
  }
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };

test('a KPI driven over a threshold goes pending → firing → resolved; the webhook receives firing and resolved', async (t) => {
  const hook = await receiver();
  t.after(() => hook.close());
  const history = new MemoryHistory();
  const rules: AlertRule[] = [{ name: 'latency-p95-warning', kpi: 'http.latency.p95', comparison: '>', threshold: 120, forMs: 5_000, severity: 'warning', hysteresis: 0.1 }];
  const monitor = createMonitor({ metrics: createMetricsRegistry(), rules, history, notifiers: [webhookNotifier({ url: hook.url, post, retries: 0 })], log: silent });
  t.after(() => monitor.close());
  let p95 = 100;
  monitor.kpis.register({ name: 'http.latency.p95', title: 'P95', unit: 'ms', group: 'http', read: () => p95 });

  const states: string[] = [];
  monitor.onAlert((e) => states.push(e.state));
  let now = 1_000_000;
  const step = (value: number, dt = 1_000): void => {
    p95 = value;
    now += dt;
    monitor.tick(now);
  };
  step(100);
  assert.deepEqual(states, []);
  step(130);
  assert.deepEqual(states, ['pending']);
  assert.equal(monitor.view().kpis[0]!.state, 'warning');
  step(135, 3_000);
  assert.deepEqual(states, ['pending'], 'not yet for 5 s');
  step(140, 2_000);
  assert.deepEqual(states, ['pending', 'firing']);
  assert.equal(monitor.alerts.active()[0]!.state, 'firing');
  step(112); // under the threshold but inside the 10% hysteresis band (108): still firing
  assert.deepEqual(states, ['pending', 'firing']);
  step(100);
  assert.deepEqual(states, ['pending', 'firing', 'resolved']);
  assert.deepEqual(monitor.alerts.active(), []);
  await monitor.drain();

  assert.deepEqual(hook.bodies.map((b) => b.event.state), ['firing', 'resolved'], 'webhook gets firing and resolved, not pending');
  const [firing, resolved] = hook.bodies as [WebhookPayload, WebhookPayload];
  assert.equal(firing.source, 'code-engine');
  assert.equal(firing.event.rule, 'latency-p95-warning');
  assert.equal(firing.event.value, 140);
  assert.equal(firing.event.threshold, 120);
  assert.equal(resolved.event.alertId, firing.event.alertId, 'one alert instance');
  assert.equal(resolved.event.value, 100);
  assert.deepEqual(history.events.map((e) => e.state), ['pending', 'firing', 'resolved']);
  assert.deepEqual(monitor.recentEvents().map((e) => e.state), ['resolved', 'firing', 'pending']);
});

test('a pending alert that clears before its for-duration is cancelled and never notified', async (t) => {
  const hook = await receiver();
  t.after(() => hook.close());
  const history = new MemoryHistory();
  const monitor = createMonitor({
    metrics: createMetricsRegistry(),
    rules: [{ name: 'errors', kpi: 'http.error_rate', comparison: '>', threshold: 10, forMs: 10_000, severity: 'critical' }],
    history,
    notifiers: [webhookNotifier({ url: hook.url, post })],
  });
  t.after(() => monitor.close());
  let v = 50;
  monitor.kpis.register({ name: 'http.error_rate', title: 'Errors', unit: '%', group: 'http', read: () => v });
  monitor.tick(0);
  v = 0;
  monitor.tick(1_000);
  v = NaN; // no traffic: no data is not a breach
  monitor.tick(20_000);
  await monitor.drain();
  assert.deepEqual(history.events.map((e) => e.state), ['pending', 'cancelled']);
  assert.equal(hook.attempts, 0);
});

test('webhook: retries a 503 with backoff then delivers; a 400 is not retried; a hanging receiver times out', async (t) => {
  const flaky = await receiver([503, 503, 200]);
  const refusing = await receiver([400, 200]);
  const hanging = await receiver(['hang', 'hang', 'hang']);
  t.after(() => Promise.all([flaky.close(), refusing.close(), hanging.close()]));
  const event: AlertEvent = { id: 'e1', alertId: 'a1', rule: 'r', kind: 'threshold', kpi: 'http.latency.p95', severity: 'critical', state: 'firing', value: 200, threshold: 150, comparison: '>', at: 1, activeSince: 0, message: 'm' };
  const signal = new AbortController().signal;

  await webhookNotifier({ url: flaky.url, post, retries: 3, baseDelayMs: 5 }).notify(event, signal);
  assert.equal(flaky.attempts, 3);
  assert.equal(flaky.bodies.length, 1);
  assert.equal(flaky.bodies[0]!.event.id, 'e1');

  await assert.rejects(webhookNotifier({ url: refusing.url, post, retries: 3, baseDelayMs: 5 }).notify(event, signal), (e) => hasCode(e, 'ALERT_WEBHOOK_FAILED') && /400/.test((e as Error).message));
  assert.equal(refusing.attempts, 1, '4xx is final');

  const started = performance.now();
  await assert.rejects(webhookNotifier({ url: hanging.url, post, retries: 1, baseDelayMs: 5, timeoutMs: 150 }).notify(event, signal), (e) => hasCode(e, 'RESILIENCE_TIMEOUT'));
  assert.equal(hanging.attempts, 2, 'one retry after the first timeout');
  assert.ok(performance.now() - started < 5_000);

  assert.throws(() => webhookNotifier({ url: 'ftp://x', post }), (e) => hasCode(e, 'ALERT_RULE_INVALID'));
});

test('the notification queue is bounded: past maxQueued the oldest waiting events are dropped', async () => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = { name: 'slow', accepts: () => true, notify: async (e: AlertEvent) => { await gate; seen.push(e.id); } };
  const dropped: string[] = [];
  const q = new NotificationQueue([slow], { maxQueued: 3, onDrop: (e) => dropped.push(e.id) });
  const ev = (id: string): AlertEvent => ({ id, alertId: id, rule: 'r', kind: 'threshold', kpi: 'k.x', severity: 'warning', state: 'firing', value: 1, threshold: 0, comparison: '>', at: 0, activeSince: 0, message: '' });
  for (const id of ['1', '2', '3', '4', '5', '6']) q.push(ev(id));
  release();
  await q.drain();
  assert.deepEqual(dropped, ['2', '3']);
  assert.deepEqual(seen, ['1', '4', '5', '6']);
  assert.equal(q.dropped, 2);
});

test('the log notifier writes firing critical as an error and the rest as info', async () => {
  const lines: string[] = [];
  const log = { info: (_o: object, m: string) => lines.push(`info ${m}`), warn: (_o: object, m: string) => lines.push(`warn ${m}`), error: (_o: object, m: string) => lines.push(`error ${m}`) };
  const engine = new AlertEngine({ rules: [{ name: 'mem', kpi: 'process.memory.rss', comparison: '>', threshold: 150, forMs: 0, severity: 'critical' }], onEvent: (e) => void logNotifier(log).notify(e, new AbortController().signal) });
  engine.evaluate(new Map([['process.memory.rss', { value: 200 }]]), 0);
  engine.evaluate(new Map([['process.memory.rss', { value: 100 }]]), 1_000);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^info critical mem: process.memory.rss = 200/);
  assert.match(lines[1]!, /^error critical mem: process.memory.rss = 200 \(process.memory.rss > 150\)/);
  assert.match(lines[2]!, /^info critical mem resolved/);
});

test('anomaly: a sudden 3× slowdown fires a warning that the fixed 120 ms threshold never sees', () => {
  const events: AlertEvent[] = [];
  const monitor = createMonitor({
    metrics: createMetricsRegistry(),
    rules: [{ name: 'latency-p95-warning', kpi: 'http.latency.p95', comparison: '>', threshold: 120, forMs: 5_000, severity: 'warning' }],
    anomaly: [{ kpi: 'http.latency.p95', alpha: 0.1, deviations: 4, minRatio: 2, minDelta: 5, warmup: 20, forMs: 3_000, severity: 'warning' }],
  });
  monitor.onAlert((e) => events.push(e));
  let v = 10;
  monitor.kpis.register({ name: 'http.latency.p95', title: 'P95', unit: 'ms', group: 'http', read: () => v });
  let seed = 1;
  const noise = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647 - 0.5) * 2; // ±1 ms
  };
  let now = 0;
  for (let i = 0; i < 60; i++) {
    v = 10 + noise();
    monitor.tick((now += 1_000));
  }
  assert.equal(events.length, 0, 'normal noise raises nothing');
  const base = monitor.view().baselines['http.latency.p95']!;
  assert.ok(base.ready && Math.abs(base.baseline! - 10) < 1, `baseline ${base.baseline}`);
  for (let i = 0; i < 5; i++) {
    v = 30 + noise();
    monitor.tick((now += 1_000));
  }
  assert.deepEqual(events.map((e) => `${e.rule} ${e.state}`), ['anomaly:http.latency.p95 pending', 'anomaly:http.latency.p95 firing']);
  assert.match(events[1]!.message, /left its baseline/);
  for (let i = 0; i < 3; i++) {
    v = 10 + noise();
    monitor.tick((now += 1_000));
  }
  assert.equal(events.at(-1)!.state, 'resolved');
  void monitor.close();
});

test('EWMA detector: warm-up, band, direction down', () => {
  const d = new EwmaDetector({ warmup: 5, minRatio: 2, direction: 'down' });
  for (let i = 0; i < 5; i++) assert.equal(d.update(95).anomalous, false);
  assert.equal(d.update(90).anomalous, false);
  const r = d.update(20);
  assert.equal(r.anomalous, true);
  assert.ok(r.lower > 20 && r.lower < 95);
  assert.equal(d.update(300).anomalous, false, 'up is fine when watching down');
  assert.equal(d.update(NaN).anomalous, false, 'no data is not an anomaly');
  assert.throws(() => new EwmaDetector({ alpha: 0 }), (e) => hasCode(e, 'METRICS_VALUE_INVALID'));
});

test('KPIs registered with thresholds get derived rules; a config rule for the KPI replaces them', () => {
  const events: AlertEvent[] = [];
  const monitor = createMonitor({ metrics: createMetricsRegistry(), derivedForMs: 0, rules: [{ name: 'hit-rate', kpi: 'cache.hit_rate', comparison: '<', threshold: 90, forMs: 0, severity: 'critical' }] });
  monitor.onAlert((e) => events.push(e));
  let util = 50;
  monitor.kpis.register({ name: 'pool.utilization', title: 'Pool', unit: '%', group: 'pool', read: () => util, thresholds: { comparison: '>', warning: 85 } });
  monitor.kpis.register({ name: 'cache.hit_rate', title: 'Hit rate', unit: '%', group: 'cache', read: () => 99, thresholds: { comparison: '<', warning: 50 } });
  monitor.tick(0);
  assert.deepEqual(monitor.thresholdsFor('pool.utilization'), { comparison: '>', warning: 85 });
  assert.deepEqual(monitor.thresholdsFor('cache.hit_rate'), { comparison: '<', critical: 90 }, 'the config rule wins');
  assert.deepEqual(monitor.alerts.rules().map((r) => r.name).sort(), ['hit-rate', 'pool.utilization:warning']);
  util = 90;
  monitor.tick(1_000);
  assert.deepEqual(events.map((e) => `${e.rule} ${e.state}`), ['pool.utilization:warning pending', 'pool.utilization:warning firing']);
  const view = monitor.view();
  assert.equal(view.kpis.find((k) => k.name === 'pool.utilization')!.state, 'warning');
  assert.equal(view.kpis.find((k) => k.name === 'cache.hit_rate')!.state, 'ok');
  void monitor.close();
});

test('rule validation names the rule and the key', () => {
  const ok: AlertRule = { name: 'a', kpi: 'http.latency.p95', comparison: '>', threshold: 1, forMs: 0, severity: 'warning' };
  assert.doesNotThrow(() => validateRules([ok]));
  const cases: Array<[unknown, RegExp]> = [
    [[ok, ok], /#1 \(a\): name is used by another rule/],
    [[{ ...ok, comparison: '=>' }], /comparison must be one of/],
    [[{ ...ok, threshold: Infinity }], /threshold must be a finite number/],
    [[{ ...ok, severity: 'fatal' }], /severity must be warning or critical/],
    [[{ ...ok, forMs: -1 }], /forMs must be an integer/],
    [[{ ...ok, kpi: 'Bad KPI' }], /kpi must be a KPI name/],
    [[{ ...ok, hysteresis: 2 }], /hysteresis must be in/],
  ];
  for (const [rules, re] of cases) assert.throws(() => validateRules(rules as AlertRule[]), (e) => hasCode(e, 'ALERT_RULE_INVALID') && re.test((e as Error).message), String(re));
  assert.throws(() => validateRules(Array.from({ length: 201 }, (_, i) => ({ ...ok, name: `r${i}` }))), (e) => hasCode(e, 'METRICS_LIMIT'));
});

test('changing rules keeps the state of unchanged ones and resolves removed firing ones', () => {
  const events: AlertEvent[] = [];
  const a: AlertRule = { name: 'a', kpi: 'k.a', comparison: '>', threshold: 1, forMs: 0, severity: 'warning' };
  const b: AlertRule = { name: 'b', kpi: 'k.b', comparison: '>', threshold: 1, forMs: 0, severity: 'critical' };
  const engine = new AlertEngine({ rules: [a, b], onEvent: (e) => events.push(e) });
  engine.evaluate(new Map([['k.a', { value: 5 }], ['k.b', { value: 5 }]]), 0);
  assert.equal(engine.active().length, 2);
  assert.equal(engine.active()[0]!.rule, 'b', 'critical first');
  engine.setRules([a], 10);
  assert.deepEqual(engine.active().map((x) => x.rule), ['a']);
  assert.equal(events.at(-1)!.rule, 'b');
  assert.equal(events.at(-1)!.state, 'resolved');
});

test('windowed KPI readers: histogram quantiles, rates and ratios over the last window only', () => {
  const metrics = createMetricsRegistry();
  const http = httpInstruments(metrics);
  const kpis = new KpiRegistry();
  registerHttpKpis(kpis, metrics, 10_000);
  const rec = (ms: number, status: string, n: number): void => {
    for (let i = 0; i < n; i++) {
      http.duration.record(ms, { method: 'GET', route: '/x', status });
      http.requests.inc({ method: 'GET', route: '/x', status });
      if (status.startsWith('5')) http.errors.inc({ route: '/x' });
    }
  };
  let now = 0;
  let v = kpis.read(now);
  assert.ok(Number.isNaN(v.get(KPI_NAMES.latencyP95)!), 'no traffic, no latency');
  rec(5, '200', 90);
  rec(200, '500', 10);
  v = kpis.read((now += 1_000));
  assert.ok(Math.abs(v.get(KPI_NAMES.latencyP95)! - 200) / 200 < 0.01);
  assert.ok(Math.abs(v.get(KPI_NAMES.latencyP50)! - 5) / 5 < 0.01);
  assert.equal(v.get(KPI_NAMES.errorRate), 10);
  for (let s = 0; s < 11; s++) {
    rec(50, '200', 100);
    v = kpis.read((now += 1_000));
  }
  // The slow burst left the 10 s window: P95 is the recent 50 ms, errors are 0%.
  assert.ok(Math.abs(v.get(KPI_NAMES.latencyP95)! - 50) / 50 < 0.01, `p95 ${v.get(KPI_NAMES.latencyP95)}`);
  assert.equal(v.get(KPI_NAMES.errorRate), 0);
  assert.ok(Math.abs(v.get(KPI_NAMES.throughput)! - 100) < 1, `throughput ${v.get(KPI_NAMES.throughput)}`);

  const w = new HistogramWindow(() => http.duration.histogram(), 2_000);
  assert.ok(Number.isNaN(quantileOverWindow(w, 0.5)({ now: now + 1 })));
  let c = 0;
  const rate = rateOverWindow(() => c, 5_000);
  assert.ok(Number.isNaN(rate({ now: 0 })));
  c = 50;
  assert.equal(rate({ now: 1_000 }), 50);
  let part = 0;
  let whole = 0;
  const ratio = ratioOverWindow(() => part, () => whole, 5_000, 100);
  assert.ok(Number.isNaN(ratio({ now: 0 })));
  part = 1;
  whole = 4;
  assert.equal(ratio({ now: 1_000 }), 25);
});

test('process KPIs read real memory and event-loop figures; a failing reader shows no data and warns once', async () => {
  const kpis = new KpiRegistry();
  const warned: string[] = [];
  kpis.onReadError = (name) => warned.push(name);
  const stop = registerProcessKpis(kpis);
  kpis.register({ name: 'broken.kpi', title: 'Broken', unit: 'x', group: 'x', read: () => { throw new Error('nope'); } });
  await new Promise((r) => setTimeout(r, 50));
  const v = kpis.read(1);
  kpis.read(2);
  stop();
  assert.ok(v.get(KPI_NAMES.rss)! > 10 && v.get(KPI_NAMES.rss)! < 100_000, `rss ${v.get(KPI_NAMES.rss)} MB`);
  assert.ok(v.get(KPI_NAMES.heapUsed)! > 1);
  assert.ok(v.get(KPI_NAMES.eventLoopUtilization)! >= 0 && v.get(KPI_NAMES.eventLoopUtilization)! <= 100);
  assert.ok(Number.isNaN(v.get('broken.kpi')!));
  assert.deepEqual(warned, ['broken.kpi']);
  assert.equal(kpis.has(KPI_NAMES.rss), false, 'stop() removes them');
  assert.throws(() => kpis.register({ name: 'broken.kpi', title: 'x', unit: 'x', group: 'x', read: () => 1 }), (e) => hasCode(e, 'METRICS_CONFLICT'));
  assert.throws(() => kpis.register({ name: 'Bad Name', title: 'x', unit: 'x', group: 'x', read: () => 1 }), (e) => hasCode(e, 'METRICS_NAME_INVALID'));
});

test('KPI values and alert counts are exported as metrics', () => {
  const metrics = createMetricsRegistry();
  const monitor = createMonitor({ metrics, rules: [{ name: 'x', kpi: 'k.v', comparison: '>', threshold: 1, forMs: 0, severity: 'critical' }] });
  monitor.kpis.register({ name: 'k.v', title: 'V', unit: 'x', group: 'g', read: () => 7 });
  monitor.tick(0);
  const text = metrics.exposition();
  assert.match(text, /^code_kpi_value\{kpi="k.v"\} 7$/m);
  assert.match(text, /^code_kpi_state\{kpi="k.v"\} 2$/m);
  assert.match(text, /^code_alerts_active\{severity="critical",state="firing"\} 1$/m);
  assert.match(text, /^code_alert_transitions_total\{severity="critical",state="firing"\} 1$/m);
  void monitor.close();
});
