import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildDashboard } from './build.js';
import { hasCode } from '../../../src/platform/errors.js';
import type { AlertEvent } from '../../../src/platform/metrics/alerts.js';
import type { WebhookPayload } from '../../../src/platform/metrics/notifiers.js';
import { dashboardAssets } from '../../../src/runtime/dashboard/assets.js';
import type { Engine } from '../../../src/runtime/engine.js';
import { insertAlertEvent, listAlertEvents, migrations, pruneAlertEvents } from '../../../src/runtime/repositories/alerts.js';
import { startServer, type RunningServer } from '../../../src/runtime/server/start.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { forEachStore } from '../../helpers/stores.js';

/** Routes a test drives traffic through: a slow one and a failing one. */
async function testRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { ms?: string } }>('/test/slow', async (req) => {
    await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 50)));
    return { ok: true };
  });
  app.get('/test/fail', async () => {
    throw new Error('deliberate failure');
  });
}

async function serve(t: TestContext, overrides: Record<string, Record<string, unknown>> = {}): Promise<{ engine: Engine; server: RunningServer; url: string }> {
  await buildDashboard();
  const w = tempWorkdir();
  const engine = await testEngine(w.dir, { overrides });
  const server = await startServer(engine, { host: '127.0.0.1', port: 0, plugins: [testRoutes] });
  t.after(async () => {
    await server.stop();
    await engine.close();
    w.cleanup();
  });
  return { engine, server, url: server.url };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('/metrics from a running server passes promtool check metrics and counts requests by route and status', async (t) => {
  const { url } = await serve(t);
  for (let i = 0; i < 20; i++) await (await fetch(`${url}/health`)).text();
  for (let i = 0; i < 3; i++) await (await fetch(`${url}/test/fail`)).text();
  await (await fetch(`${url}/test/slow?ms=30`)).text();
  await (await fetch(`${url}/no/such/route`)).text();
  await (await fetch(`${url}/v1/kpis`)).text(); // at least one KPI sample exists
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.ifError(check.error);
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assert.match(text, /^code_http_requests_total\{method="GET",route="\/health",status="200"\} 20$/m);
  assert.match(text, /^code_http_requests_total\{method="GET",route="\/test\/fail",status="500"\} 3$/m);
  assert.match(text, /^code_http_request_errors_total\{route="\/test\/fail"\} 3$/m);
  assert.match(text, /^code_http_requests_total\{method="GET",route="\(unmatched\)",status="404"\} 1$/m, 'unknown URLs share one label');
  const slowCount = /^code_http_request_duration_seconds_count\{method="GET",route="\/test\/slow",status="200"\} (\d+)$/m.exec(text);
  assert.equal(slowCount?.[1], '1');
  const slowP50 = Number(/^code_http_request_duration_seconds_quantiles\{method="GET",route="\/test\/slow",status="200",quantile="0.5"\} (\S+)$/m.exec(text)![1]);
  assert.ok(slowP50 >= 0.03 && slowP50 < 1, `slow route median ${slowP50}s`);
  assert.match(text, /^code_kpi_value\{kpi="process.memory.rss"\} \d/m, 'KPIs are metrics too');

  const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  for (const p of ['/metrics', '/v1/kpis', '/v1/kpis/history', '/v1/alerts', '/v1/dashboard/stream']) assert.ok(openapi.paths[p], `OpenAPI documents ${p}`);
});

test('GET /v1/kpis: every KPI with value, thresholds from the rules and state', async (t) => {
  const { url, engine } = await serve(t, { alerts: { intervalMs: 100 } });
  for (let i = 0; i < 10; i++) await (await fetch(`${url}/test/fail`)).text();
  for (let i = 0; i < 10; i++) await (await fetch(`${url}/health`)).text();
  // Sampling runs with the server: wait for a sample that saw this traffic.
  const body = await until('a sample with an error rate', async () => {
    const b = (await (await fetch(`${url}/v1/kpis`)).json()) as { at: number; kpis: Array<{ name: string; value: number | null; state: string; thresholds: Record<string, unknown> | null; unit: string }> };
    const er = b.kpis.find((k) => k.name === 'http.error_rate');
    return er?.value !== null && er?.value !== undefined && er.value > 0 ? b : undefined;
  });
  const byName = new Map(body.kpis.map((k) => [k.name, k]));
  for (const name of ['http.latency.p50', 'http.latency.p95', 'http.latency.p99', 'http.throughput', 'http.error_rate', 'process.memory.rss', 'process.memory.heap_used', 'process.eventloop.delay_p99', 'process.eventloop.utilization']) {
    assert.ok(byName.has(name), `KPI ${name}`);
  }
  assert.deepEqual(byName.get('http.latency.p95')!.thresholds, { comparison: '>', warning: 120, critical: 150 });
  assert.deepEqual(byName.get('http.error_rate')!.thresholds, { comparison: '>', warning: 8, critical: 10 });
  assert.deepEqual(byName.get('process.memory.heap_used')!.thresholds, { comparison: '>', warning: 120, critical: 150 });
  assert.equal(byName.get('process.memory.rss')!.thresholds, null);
  const er = byName.get('http.error_rate')!;
  assert.ok(er.value! >= 8, `error rate ${er.value}% with half the requests failing`);
  assert.equal(er.state, er.value! > 10 ? 'critical' : 'warning');
  assert.equal(byName.get('process.memory.rss')!.unit, 'MB');
  assert.ok(byName.get('process.memory.rss')!.value! > 10);
  assert.ok(body.at <= Date.now());
  assert.equal(engine.observability.monitor.running, true);

  // A part arriving later registers its KPI with a threshold; it shows with state and a derived rule.
  let hit = 95;
  engine.observability.monitor.kpis.register({ name: 'pool.wait_p95', title: 'Pool wait P95', unit: 'ms', group: 'pool', read: () => hit, thresholds: { comparison: '>', warning: 50 } });
  hit = 70;
  const later = await until('the new KPI', async () => {
    const b = (await (await fetch(`${url}/v1/kpis`)).json()) as { kpis: Array<{ name: string; value: number | null; state: string }> };
    return b.kpis.find((k) => k.name === 'pool.wait_p95' && k.value === 70);
  });
  assert.equal(later.state, 'warning');
  const rules = ((await (await fetch(`${url}/v1/alerts`)).json()) as { rules: Array<{ name: string }> }).rules.map((r) => r.name);
  assert.ok(rules.includes('pool.wait_p95:warning'), rules.join(', '));
});

test('a KPI driven over a threshold: pending → firing → resolved, in the store, and the webhook (through the engine HTTP client) gets firing and resolved', async (t) => {
  const received: WebhookPayload[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body) as WebhookPayload);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => hook.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;

  const { url, engine } = await serve(t, {
    alerts: {
      intervalMs: 100,
      windowSeconds: 1,
      rules: [{ name: 'slow-p95', kpi: 'http.latency.p95', comparison: '>', threshold: 40, forSeconds: 0.5, severity: 'critical', hysteresis: 0.1 }],
      anomaly: [],
      webhooks: [{ url: hookUrl, retries: 2, baseDelayMs: 20, timeoutMs: 2_000 }],
    },
  });

  type AlertsBody = { active: Array<{ rule: string; state: string; alertId: string }>; events: AlertEvent[] };
  const alerts = async (): Promise<AlertsBody> => (await (await fetch(`${url}/v1/alerts?rule=slow-p95`)).json()) as AlertsBody;

  // Slow traffic: P95 over the last second goes to ~60 ms, over the 40 ms threshold.
  let slow = true;
  const drive = (async () => {
    while (slow) await Promise.all([0, 1, 2].map(async () => (await fetch(`${url}/test/slow?ms=60`)).text()));
  })();
  const firing = await until('the alert to fire', async () => (await alerts()).active.find((a) => a.state === 'firing'));
  const kpis = (await (await fetch(`${url}/v1/kpis`)).json()) as { kpis: Array<{ name: string; state: string }> };
  assert.equal(kpis.kpis.find((k) => k.name === 'http.latency.p95')!.state, 'critical');
  slow = false;
  await drive;
  // Fast traffic: P95 falls under 36 ms (threshold minus 10% hysteresis) and the alert resolves.
  let fast = true;
  const driveFast = (async () => {
    while (fast) await (await fetch(`${url}/health`)).text();
  })();
  const history = await until('the alert to resolve', async () => {
    const b = await alerts();
    return b.active.length === 0 && b.events.some((e) => e.state === 'resolved' && e.alertId === firing.alertId) ? b.events : undefined;
  });
  fast = false;
  await driveFast;
  const mine = history.filter((e) => e.alertId === firing.alertId).reverse();
  assert.deepEqual(mine.map((e) => e.state), ['pending', 'firing', 'resolved']);
  assert.ok(mine[1]!.value! > 40 && mine[1]!.threshold === 40);
  assert.ok(mine[1]!.at - mine[0]!.at >= 500, 'fired only after holding for forSeconds');
  assert.ok(mine[2]!.value === null || mine[2]!.value < 36);

  await engine.observability.monitor.drain();
  const got = received.filter((p) => p.event.alertId === firing.alertId).map((p) => p.event.state);
  assert.deepEqual(got, ['firing', 'resolved']);
  assert.equal(received[0]!.source, 'code-engine');
  assert.ok(engine.http.stats().origins.some((o) => hookUrl.startsWith(o.origin) && o.requests >= 2), 'the webhook went through engine.http');
});

test('alert rules are validated like all config: a bad rule names its path', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const path = w.write('codectl.yaml', 'alerts:\n  rules:\n    - name: bad\n      kpi: http.latency.p95\n      comparison: "=>"\n      threshold: 1\n      severity: warning\n');
  await assert.rejects(testEngine(w.dir, { path }), (e) => hasCode(e, 'CONFIG_INVALID') && /alerts\.rules\.0\.comparison/.test((e as Error).message));
  const path2 = w.write('codectl2.yaml', 'alerts:\n  rules:\n    - name: bad\n      kpi: http.latency.p95\n      comparison: ">"\n      threshold: 1\n      severity: fatal\n      colour: red\n');
  await assert.rejects(testEngine(w.dir, { path: path2 }), (e) => hasCode(e, 'CONFIG_INVALID') && /alerts\.rules\.0/.test((e as Error).message));
  // The environment overrides the rules with JSON.
  const engine = await testEngine(w.dir, { env: { CODE_ALERTS_RULES: JSON.stringify([{ name: 'env-rule', kpi: 'http.error_rate', comparison: '>', threshold: 1, severity: 'warning' }]) } });
  t.after(() => engine.close());
  assert.deepEqual(engine.observability.monitor.alerts.rules().filter((r) => r.kind !== 'anomaly').map((r) => `${r.name} ${r.forMs}`), ['env-rule 30000']);
});

test('the dashboard page, its assets, and the SSE stream (hello with history and flags, then samples)', async (t) => {
  const { url, engine } = await serve(t, { alerts: { intervalMs: 100 } });
  engine.flags.register({ name: 'test.dashboard', default: true, description: 'A flag for the test', fallback: 'nothing' });
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const html = await page.text();
  assert.match(html, /uPlot\.iife\.min\.js/);
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN: every asset is served by the engine');
  const etag = page.headers.get('etag')!;
  assert.equal((await fetch(`${url}/`, { headers: { 'if-none-match': etag } })).status, 304);
  assert.equal((await fetch(`${url}/dashboard/vendor/uPlot.iife.min.js`)).status, 200);
  assert.equal((await fetch(`${url}/dashboard/../package.json`)).status, 404);
  assert.equal((await fetch(`${url}/dashboard/nope.js`)).status, 404);

  const ac = new AbortController();
  const res = await fetch(`${url}/v1/dashboard/stream`, { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  let text = '';
  await until('two samples', async () => {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
    return (text.match(/^event: sample$/gm) ?? []).length >= 2;
  });
  ac.abort();
  const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]!) }));
  assert.equal(events[0]!.event, 'hello');
  const hello = events[0]!.data;
  assert.equal(hello.intervalMs, 100);
  assert.ok(Array.isArray(hello.history));
  assert.ok(hello.flags.some((f: { name: string; enabled: boolean }) => f.name === 'test.dashboard' && f.enabled));
  const samples = events.filter((e) => e.event === 'sample').map((e) => e.data);
  assert.ok(samples[1].at > samples[0].at);
  assert.ok(samples[0].kpis.some((k: { name: string }) => k.name === 'process.memory.rss'));
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.doesNotMatch(metrics, /route="\/v1\/dashboard\/stream"/, 'the long-lived stream is not a request latency');
});

test('the server closes promptly with a dashboard stream open', async (t) => {
  const { url, server } = await serve(t);
  const res = await fetch(`${url}/v1/dashboard/stream`);
  const reader = res.body!.getReader();
  await reader.read();
  const started = Date.now();
  await server.stop();
  assert.ok(Date.now() - started < 3_000, 'preClose ended the stream');
  await reader.cancel().catch(() => undefined);
});

test('dashboard assets missing: a clear DASHBOARD_NOT_BUILT error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'code-dash-'));
  try {
    assert.throws(() => dashboardAssets(dir), (e) => hasCode(e, 'DASHBOARD_NOT_BUILT') && /npm run build/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert history repository on every store: insert, list with filters, prune', async (t) => {
  await forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const ev = (i: number, state: AlertEvent['state']): AlertEvent => ({ id: `e${i}`, alertId: `a${Math.floor(i / 3)}`, rule: i % 2 ? 'odd' : 'even', kind: 'threshold', kpi: 'http.latency.p95', severity: 'warning', state, value: i === 0 ? null : i * 1.5, threshold: 120, comparison: '>', at: 1_000 + i, activeSince: 1_000, message: `m${i}` });
    for (let i = 0; i < 10; i++) await insertAlertEvent(store, ev(i, (['pending', 'firing', 'resolved'] as const)[i % 3]!));
    const all = await listAlertEvents(store, { limit: 100 });
    assert.equal(all.length, 10);
    assert.equal(all[0]!.id, 'e9', 'newest first');
    assert.equal(all.at(-1)!.value, null);
    assert.equal(all[0]!.value, 13.5);
    assert.deepEqual((await listAlertEvents(store, { rule: 'odd', state: 'pending' })).map((e) => e.id), ['e9', 'e3']);
    assert.deepEqual((await listAlertEvents(store, { since: 1_008 })).map((e) => e.id), ['e9', 'e8']);
    assert.equal(await pruneAlertEvents(store, 4), 6);
    assert.deepEqual((await listAlertEvents(store)).map((e) => e.id), ['e9', 'e8', 'e7', 'e6']);
  });
});

test('alert rules are live: a config rollback swaps them in the running engine', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const rule = (name: string, threshold: number): string => `alerts:\n  anomaly: []\n  rules:\n    - { name: ${name}, kpi: http.error_rate, comparison: ">", threshold: ${threshold}, severity: warning }\n`;
  const first = await testEngine(w.dir, { path: w.write('a.yaml', rule('first', 5)) });
  await first.close();
  const engine = await testEngine(w.dir, { path: w.write('b.yaml', rule('second', 7)) });
  t.after(() => engine.close());
  // Config rules only (parts' derived rules are named KPI:severity).
  const names = (): string[] => engine.observability.monitor.alerts.rules().map((r) => r.name).filter((n) => !n.includes(':'));
  assert.deepEqual(names(), ['second']);
  const result = await engine.config.rollback(1);
  assert.ok(result.applied.some((p: string) => p.startsWith('alerts.rules')), JSON.stringify(result.applied));
  assert.deepEqual(names(), ['first']);
  assert.deepEqual(engine.observability.monitor.thresholdsFor('http.error_rate'), { comparison: '>', warning: 5 });
});
