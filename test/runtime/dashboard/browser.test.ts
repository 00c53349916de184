// The dashboard in a real browser: headless Chromium (playwright-core, the system's /usr/bin/chromium)
// loads the page from a real engine server on port 0, watches the charts receive changing data,
// toggles a flag and sees the change round-trip, and saves a screenshot to test-results/dashboard.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Engine } from '../../../src/runtime/engine.js';
import { startServer, type RunningServer } from '../../../src/runtime/server/start.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { buildDashboard } from './build.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

async function work(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { ms?: string } }>('/test/work', async (req) => {
    await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 5)));
    return { ok: true };
  });
  app.get('/test/fail', async () => {
    throw new Error('deliberate failure');
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const chart = (page: Page, id: string) => page.$eval(`#${id}`, (el) => ({ points: Number(el.getAttribute('data-points')), last: JSON.parse(el.getAttribute('data-last') ?? 'null') as Array<number | null> | null }));

test('dashboard in headless Chromium: live charts, tiles, alerts, a flag toggled round trip, screenshot', async () => {
  await buildDashboard();
  const w = tempWorkdir();
  const profile = mkdtempSync(join(tmpdir(), 'code-chromium-'));
  const engine = await testEngine(w.dir, { overrides: { alerts: { intervalMs: 250, windowSeconds: 2 } } });
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let running = true;
  let traffic: Promise<void> = Promise.resolve();
  try {
    engine.flags.register({ name: 'cache.compression', default: true, description: 'Compress cached values over 1 KiB', fallback: 'store them raw' });
    engine.flags.register({ name: 'dashboard.demo', default: false, description: 'A flag toggled by the browser test', fallback: 'off' });
    server = await startServer(engine, { host: '127.0.0.1', port: 0, plugins: [work] });
    const url = server.url;

    // Background traffic with a changing mix, so latency, throughput and errors move.
    let n = 0;
    traffic = (async () => {
      while (running) {
        n++;
        const ms = 2 + (n % 40);
        await Promise.all([fetch(`${url}/test/work?ms=${ms}`).then((r) => r.text()), n % 7 === 0 ? fetch(`${url}/test/fail`).then((r) => r.text()) : null]).catch(() => undefined);
      }
    })();

    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1440, height: 900 } });
    const page = context.pages()[0] ?? (await context.newPage());
    await exercise(page, url, engine);
  } finally {
    // Browser first (its stream would reconnect), then traffic, server, engine, files.
    await context?.close().catch(() => undefined);
    running = false;
    await traffic;
    await server?.stop();
    await engine.close();
    rmSync(profile, { recursive: true, force: true });
    w.cleanup();
  }
});

async function exercise(page: Page, url: string, engine: Engine): Promise<void> {
  const errors: string[] = [];
  const offHost: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(url)) offHost.push(r.url());
  });

  await page.goto(`${url}/`, { waitUntil: 'load' });
  await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });

  // Charts receive data, and the data changes from one sample to the next.
  const first = await waitFor('latency chart with 3 points', async () => {
    const c = await chart(page, 'chart-latency');
    return c.points >= 3 ? c : undefined;
  });
  const firstThroughput = await chart(page, 'chart-throughput');
  const later = await waitFor('the charts to move', async () => {
    const [lat, thr] = [await chart(page, 'chart-latency'), await chart(page, 'chart-throughput')];
    return lat.points >= first.points + 4 && (JSON.stringify(lat.last) !== JSON.stringify(first.last) || JSON.stringify(thr.last) !== JSON.stringify(firstThroughput.last)) ? { lat, thr } : undefined;
  });
  assert.ok(later.lat.last!.every((v) => typeof v === 'number' && v > 0), `latency P50/P95/P99 ${JSON.stringify(later.lat.last)}`);
  assert.ok(later.thr.last![0]! > 0, 'throughput > 0');
  for (const id of ['chart-errors', 'chart-memory', 'chart-eventloop']) assert.ok((await chart(page, id)).points >= 3, `${id} has data`);
  assert.ok((await page.$$('#chart-latency canvas')).length >= 1, 'uPlot drew a canvas');
  const memory = (await chart(page, 'chart-memory')).last!;
  assert.ok(memory[0]! > 10, `RSS ${memory[0]} MB`);

  // KPI tiles with states and thresholds.
  const tile = await page.$eval('.tile[data-kpi="http.latency.p95"]', (el) => ({ state: el.getAttribute('data-state'), text: el.textContent }));
  assert.ok(['ok', 'warning', 'critical'].includes(tile.state!), `p95 tile state ${tile.state}`);
  assert.match(tile.text!, /warn > 120 · crit > 150/);

  // Toggle a flag in the page: the server's flag changes, and the page shows the server's state.
  assert.equal(engine.flags.enabled('dashboard.demo'), false);
  assert.equal(await page.isChecked('input[data-flag="dashboard.demo"]'), false);
  await page.click('li[data-flag="dashboard.demo"] .switch');
  await waitFor('the server flag to turn on', async () => engine.flags.enabled('dashboard.demo'));
  await page.waitForSelector('li[data-flag="dashboard.demo"][data-enabled="true"]', { timeout: 5_000 });
  const audit = await engine.flags.audit({ name: 'dashboard.demo', limit: 5 });
  assert.equal(audit[0]!.new, true);
  assert.match(audit[0]!.actor, /^api:/, 'changed through the API');
  // And back the other way: a change made elsewhere reaches the page over the stream.
  await engine.flags.set('dashboard.demo', false, 'test');
  await page.waitForSelector('li[data-flag="dashboard.demo"][data-enabled="false"]', { timeout: 5_000 });
  assert.equal(await page.isChecked('input[data-flag="dashboard.demo"]'), false);

  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
  assert.ok(statSync('test-results/dashboard.png').size > 20_000, 'a real screenshot');

  assert.deepEqual(errors, [], 'no errors in the page');
  assert.deepEqual(offHost, [], 'the page loads nothing from anywhere but the engine');
}
