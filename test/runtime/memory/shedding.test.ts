import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Registry } from '../../../src/platform/metrics/registry.js';
import { buildApp } from '../../../src/runtime/server/app.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

const MiB = 1024 * 1024;

/** A synthetic cgroup v2 (1000 MiB) under `dir`; the engine's sampler reads it through memory.sources. */
function cgroup(dir: string): { sources: Record<string, string>; use(mb: number): void } {
  const v2 = join(dir, 'cg', 'v2');
  mkdirSync(v2, { recursive: true });
  writeFileSync(join(dir, 'cg', 'self'), '0::/\n');
  writeFileSync(join(v2, 'memory.max'), `${1000 * MiB}\n`);
  const use = (mb: number): void => writeFileSync(join(v2, 'memory.current'), `${mb * MiB}\n`);
  use(100);
  return { sources: { cgroupV2Root: v2, cgroupV1MemoryRoot: join(dir, 'cg', 'none'), procSelfCgroup: join(dir, 'cg', 'self'), meminfo: join(dir, 'cg', 'meminfo') }, use };
}

const memoryConfig = (sources: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  enabled: false, // the test ticks by hand
  dimensions: ['cgroup'],
  stepDownSamples: 1,
  sources,
  caches: { cooldownMs: 0 },
  concurrency: { cooldownMs: 0 },
  breakers: { cooldownMs: 0 },
  shed: { cooldownMs: 0, retryAfterSeconds: 3 },
  ...extra,
});

test('the engine sheds by level: low-priority first, then all but /health and /metrics; recovers', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const cg = cgroup(w.dir);
  const engine = await testEngine(w.dir, { overrides: { memory: memoryConfig(cg.sources) } });
  const app = await buildApp({ engine, host: '127.0.0.1' });
  // A route that declares itself low priority (the way capability routes opt in).
  app.get('/v1/test/optional', { config: { shed: 'low' } }, async () => ({ ok: true }));
  t.after(async () => {
    await app.close();
    await engine.close();
  });
  const status = async (url: string) => (await app.inject({ url })).statusCode;
  const at = async (mb: number) => {
    cg.use(mb);
    return (await engine.memory.monitor.tick()).level;
  };

  assert.equal(await at(100), 'normal');
  assert.equal(await status('/openapi.json'), 200);
  assert.equal(await status('/v1/test/optional'), 200);

  assert.equal(await at(900), 'high');
  const shed = await app.inject({ url: '/openapi.json' });
  assert.equal(shed.statusCode, 503);
  assert.equal(shed.headers['retry-after'], '3');
  assert.equal(shed.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = shed.json();
  assert.equal(body.code, 'SERVER_OVERLOADED');
  assert.equal(body.status, 503);
  assert.match(body.detail, /low-priority/);
  assert.ok(body.requestId);
  assert.equal(await status('/v1/test/optional'), 503);
  assert.equal(await status('/v1/flags'), 200, 'normal priority still served at high');
  assert.equal(await status('/health'), 200);

  assert.equal(await at(970), 'critical');
  assert.equal(await status('/v1/flags'), 503);
  assert.equal(await status('/v1/no-such-route'), 503, 'unknown routes are normal priority');
  assert.equal(await status('/health'), 200);
  const metricsText = await app.inject({ url: '/metrics' });
  assert.equal(metricsText.statusCode, 200, '/metrics is exempt');
  assert.match(metricsText.body, /^code_memory_pressure_level 3$/m);
  // /v1/kpis is not exempt: at critical it is shed too; read the KPIs at high below.
  assert.equal(await status('/v1/kpis'), 503);
  assert.match((await app.inject({ url: '/v1/flags' })).json().detail, /critical memory pressure/);

  const text = (engine.metrics as Registry).exposition();
  assert.match(text, /^code_http_shed_total\{priority="low"\} 2$/m);
  assert.match(text, /^code_http_shed_total\{priority="normal"\} 4$/m);
  assert.match(text, /^code_memory_pressure_level 3$/m);
  assert.match(text, /^code_http_shedding_mode 2$/m);
  const snap = engine.memory.monitor.snapshot();
  assert.equal(snap.lastAction?.responder, 'shed');
  assert.deepEqual(snap.engaged.map((e) => e.name), ['cache.shrink', 'concurrency.limit', 'breakers.isolate', 'shed']);

  assert.equal(await at(880), 'high');
  engine.observability.monitor.tick();
  const kpis = await app.inject({ url: '/v1/kpis' });
  assert.equal(kpis.statusCode, 200);
  const kpi = (name: string) => (kpis.json().kpis as Array<{ name: string; value: number | null; state: string }>).find((k) => k.name === name)!;
  assert.deepEqual([kpi('memory.level').value, kpi('memory.level').state], [2, 'warning']);
  assert.equal(kpi('memory.pressure').value, 88);
  assert.ok(kpi('memory.last_action_age').value! >= 0);
  assert.equal(kpi('memory.growth').value, null, 'no leak window closed yet');

  assert.equal(await at(300), 'normal');
  for (const url of ['/openapi.json', '/v1/test/optional', '/v1/flags', '/health']) assert.equal(await status(url), 200, url);
  assert.deepEqual(engine.memory.monitor.snapshot().engaged, []);
});

test('live config: thresholds and route lists change at run time (a rollback to an older version)', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const cg = cgroup(w.dir);
  // Version 1: high from 0.6, /v1/flags low priority. Version 2 (running): defaults.
  const v1 = await testEngine(w.dir, { overrides: { memory: memoryConfig(cg.sources, { thresholds: { moderate: 0.5, high: 0.6, critical: 0.95 }, shed: { cooldownMs: 0, retryAfterSeconds: 3, lowPriorityRoutes: ['/v1/flags'] } }) } });
  await v1.close();
  const engine = await testEngine(w.dir, { overrides: { memory: memoryConfig(cg.sources) } });
  const app = await buildApp({ engine, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await engine.close();
  });
  cg.use(650);
  assert.equal((await engine.memory.monitor.tick()).level, 'normal');
  assert.equal((await app.inject({ url: '/v1/flags' })).statusCode, 200);

  const rolled = await engine.config.rollback(1);
  assert.ok(rolled.applied.includes('memory.thresholds.high'), JSON.stringify(rolled));
  assert.ok(rolled.applied.includes('memory.shed.lowPriorityRoutes'));
  assert.equal(engine.memory.monitor.thresholds.high, 0.6);
  assert.equal((await engine.memory.monitor.tick()).level, 'high');
  assert.equal((await app.inject({ url: '/v1/flags' })).statusCode, 503, 'the new low-priority list is in force');
  assert.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200, 'the old list is not');
});

test('a bad memory config stops the engine with the key named', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  await assert.rejects(testEngine(w.dir, { overrides: { memory: { thresholds: { moderate: 0.9, high: 0.8 } } } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MEMORY_CONFIG_INVALID');
    assert.match(err.message, /memory\.thresholds: must rise/);
    return true;
  });
  await assert.rejects(testEngine(w.dir, { overrides: { memory: { intervalMs: 5 } } }), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && /memory\.intervalMs/.test(err.message));
});
