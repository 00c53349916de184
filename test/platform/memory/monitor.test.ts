import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createMemoryControl, describeEvent } from '../../../src/platform/memory/control.js';
import { MEMORY_KPIS, registerMemoryKpis, registerMemoryMetrics } from '../../../src/platform/memory/metrics.js';
import { createMonitor } from '../../../src/platform/metrics/monitor.js';
import { MemoryMonitor } from '../../../src/platform/memory/monitor.js';
import type { Responder } from '../../../src/platform/memory/responders.js';
import type { MemoryEvent } from '../../../src/platform/memory/types.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'code-mem-mon-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A synthetic cgroup v2 of `limitMb`; returns a setter for memory.current. */
function cgroup(name: string, limitMb: number): { paths: Record<string, string>; use(mb: number): void } {
  const dir = join(root, name);
  const v2 = join(dir, 'v2');
  rmSync(dir, { recursive: true, force: true });
  for (const d of [dir, v2]) spawnSync('mkdir', ['-p', d]);
  writeFileSync(join(dir, 'self'), '0::/\n');
  writeFileSync(join(v2, 'memory.max'), `${limitMb * MiB}\n`);
  writeFileSync(join(v2, 'memory.stat'), 'anon 0\ninactive_file 0\n');
  const use = (mb: number): void => writeFileSync(join(v2, 'memory.current'), `${Math.round(mb * MiB)}\n`);
  use(0);
  return { paths: { cgroupV2Root: v2, cgroupV1MemoryRoot: join(dir, 'none'), procSelfCgroup: join(dir, 'self'), meminfo: join(dir, 'meminfo') }, use };
}

describe('MemoryMonitor on a synthetic cgroup', () => {
  test('levels, prediction alert, graded shedding, undo in reverse order, snapshot and metrics', async () => {
    const cg = cgroup('full', 1000);
    let now = 1_700_000_000_000;
    const control = createMemoryControl({
      dimensions: ['cgroup'],
      sampler: { paths: cg.paths },
      now: () => now,
      observeGc: false,
      stepDownSamples: 2,
      predictor: { windowMs: 30_000, minSamples: 5, warnBelowMs: 60_000 },
      gc: { enabled: false },
      caches: { cooldownMs: 3000 },
      concurrency: { cooldownMs: 2000 },
      breakers: { cooldownMs: 2000 },
      shed: { cooldownMs: 1000, retryAfterSeconds: 7 },
    });
    const { monitor, shedder } = control;
    const registry = createMetricsRegistry();
    registerMemoryMetrics(registry, monitor, shedder);
    const events: MemoryEvent[] = [];
    monitor.on((e) => events.push(e));
    const kinds = () => events.filter((e) => e.type === 'level' || e.type === 'action' || e.type === 'alert').map((e) => (e.type === 'level' ? `level:${e.to}` : e.type === 'action' ? `${e.responder}:${e.action}` : `${e.name}:${e.state}`));

    // 10 MB/s from 500 MB: moderate at 700, high at 850, critical at 950 (45 s in).
    const ttcSeen: number[] = [];
    for (let s = 0; s <= 46; s++) {
      cg.use(500 + 10 * s);
      const snap = await monitor.tick();
      if (snap.timeToCriticalMs !== null && 500 + 10 * s < 950) ttcSeen.push(snap.timeToCriticalMs + s * 1000);
      now += 1000;
    }
    // Every prediction points at the same moment: 45 s after the start.
    assert.ok(ttcSeen.length > 30);
    for (const t of ttcSeen) assert.ok(Math.abs(t - 45_000) < 1, String(t));
    const s1 = monitor.snapshot();
    assert.equal(s1.level, 'critical');
    assert.equal(s1.dimension, 'cgroup');
    assert.equal(s1.effectiveLimitBytes, 1000 * MiB);
    assert.equal(shedder.mode, 'all');
    assert.equal(shedder.retryAfterSeconds, 7);
    assert.deepEqual(s1.engaged.map((e) => e.name), ['cache.shrink', 'concurrency.limit', 'breakers.isolate', 'shed']);
    assert.deepEqual(kinds(), [
      'memory.critical-soon:firing', // predicted < 60 s before anything else happened
      'level:moderate',
      'cache.shrink:apply',
      'level:high',
      'cache.shrink:escalate',
      'concurrency.limit:apply',
      'breakers.isolate:apply',
      'shed:apply',
      'level:critical',
      'cache.shrink:escalate',
      'concurrency.limit:escalate',
      'shed:escalate',
    ]);
    const firing = events.find((e) => e.type === 'alert')!;
    assert.ok(firing.type === 'alert' && firing.name === 'memory.critical-soon' && firing.timeToCriticalMs! < 60_000);

    const text = registry.exposition();
    assert.match(text, /^code_memory_pressure_level 3$/m);
    assert.match(text, /^code_memory_pressure_ratio\{dimension="cgroup"\} 0\.96$/m);
    assert.match(text, /^code_memory_time_to_critical_seconds 0$/m);
    assert.match(text, /^code_http_shedding_mode 2$/m);
    assert.match(text, /^code_memory_actions_total\{responder="shed",action="escalate"\} 1$/m);
    assert.match(text, /^code_memory_last_action_timestamp_seconds\{responder="shed",action="escalate"\} \d+$/m);
    assert.equal(s1.lastAction?.responder, 'shed');

    // Pressure falls to 400 MB: the level drops after 2 samples, then responders undo newest first.
    events.length = 0;
    for (let s = 0; s < 6; s++) {
      cg.use(400);
      await monitor.tick();
      now += 1000;
    }
    assert.equal(monitor.level, 'normal');
    assert.equal(shedder.mode, 'off');
    const undos = kinds().filter((k) => k.endsWith(':undo'));
    assert.equal(kinds()[0], 'level:normal');
    assert.deepEqual(undos, ['shed:undo', 'breakers.isolate:undo', 'concurrency.limit:undo', 'cache.shrink:undo']);
    // The alert resolves once the window has slid past the rise.
    for (let s = 0; s < 30; s++) {
      cg.use(400);
      await monitor.tick();
      now += 1000;
    }
    assert.equal(kinds().filter((k) => k.startsWith('memory.critical-soon')).join(), 'memory.critical-soon:resolved');
    assert.equal(monitor.snapshot().timeToCriticalMs, null);
    assert.deepEqual(monitor.snapshot().engaged, []);
    await control.close();
  });

  test('KPIs through the metrics monitor: values, states and the derived critical-soon alert', async () => {
    const cg = cgroup('kpis', 1000);
    let now = 1_700_000_000_000;
    const m = new MemoryMonitor({ dimensions: ['cgroup'], sampler: { paths: cg.paths }, now: () => now, observeGc: false, predictor: { windowMs: 30_000, minSamples: 5 } });
    const registry = createMetricsRegistry();
    const kpiMonitor = createMonitor({ metrics: registry, now: () => now, derivedForMs: 2000 });
    registerMemoryKpis(kpiMonitor.kpis, m, { warnBelowS: 120, leakMbPerHour: 10, now: () => now });
    const value = (name: string) => kpiMonitor.view().kpis.find((k) => k.name === name)!;
    kpiMonitor.tick(now);
    assert.equal(value(MEMORY_KPIS.pressure).value, null, 'no sample yet: no data');
    // 5 MB/s from 500 MB: 90 s to 950 MB at the start.
    for (let s = 0; s < 80; s++) {
      cg.use(500 + 5 * s);
      await m.tick();
      kpiMonitor.tick(now);
      now += 1000;
    }
    const v = kpiMonitor.view();
    const level = value(MEMORY_KPIS.level);
    assert.equal(level.value, 2); // 895 MB: high
    assert.equal(level.state, 'warning');
    assert.ok(Math.abs(value(MEMORY_KPIS.pressure).value! - 89.5) < 1e-9);
    const ttc = value(MEMORY_KPIS.timeToCritical);
    assert.ok(Math.abs(ttc.value! - 11) < 1e-6, String(ttc.value));
    assert.equal(ttc.state, 'warning');
    assert.equal(value(MEMORY_KPIS.lastActionAge).value, null, 'no responders: no action');
    const alert = v.alerts.find((a) => a.kpi === MEMORY_KPIS.timeToCritical)!;
    assert.equal(alert.state, 'firing');
    assert.equal(alert.severity, 'warning');
    assert.match(registry.exposition(), /^code_kpi_value\{kpi="memory.level"\} 2$/m);
    await m.close();
  });

  test('describeEvent turns every event into one log line', () => {
    const lines = ([
      { type: 'level', from: 'normal', to: 'high', ratio: 0.9, dimension: 'heap', at: 0 },
      { type: 'level', from: 'high', to: 'normal', ratio: 0.1, dimension: 'heap', at: 0 },
      { type: 'action', responder: 'shed', action: 'apply', level: 'high', at: 0 },
      { type: 'alert', name: 'memory.leak', state: 'firing', growthMbPerHour: 12.3456, at: 0 },
      { type: 'alert', name: 'memory.critical-soon', state: 'resolved', timeToCriticalMs: null, at: 0 },
      { type: 'error', source: 'meminfo', message: 'bad', at: 0 },
      { type: 'trim', beforeBytes: 32 * 1048576, afterBytes: 2 * 1048576, at: 0 },
    ] as MemoryEvent[]).map(describeEvent);
    assert.deepEqual(lines.map((l) => l.severity), ['warn', 'info', 'info', 'warn', 'info', 'warn', 'debug']);
    assert.deepEqual(lines[6]!.fields, { beforeMb: 32, afterMb: 2 });
    assert.equal(lines[0]!.message, 'memory pressure normal → high');
    assert.equal(lines[3]!.fields.growthMbPerHour, 12.346);
  });

  test('a configured RSS cap is a limit: a cap just above RSS puts this process under pressure', async () => {
    const m = new MemoryMonitor({ dimensions: ['cap'], capBytes: process.memoryUsage.rss() * 1.1, observeGc: false, sampler: { paths: cgroup('cap', 1000).paths } });
    const snap = await m.tick();
    assert.equal(snap.dimension, 'cap');
    assert.ok(snap.ratio > 0.8 && snap.ratio < 1.1, String(snap.ratio));
    assert.notEqual(snap.level, 'normal');
    m.configure({ capBytes: process.memoryUsage.rss() * 100 });
    assert.ok((await m.tick()).ratio < 0.05);
    assert.throws(() => m.configure({ capBytes: -1 }));
    assert.throws(() => m.configure({ thresholds: { moderate: 0.99 } }), /must rise/);
    await m.close();
  });
});

describe('the timer chain', () => {
  test('ticks never overlap, even when a responder is slower than the interval; close stops it and undoes', async () => {
    const cg = cgroup('timer', 100);
    cg.use(99);
    let active = 0;
    let maxActive = 0;
    let applies = 0;
    let undone = false;
    const slow: Responder = {
      name: 'slow',
      level: 'moderate',
      cooldownMs: 0,
      repeat: true,
      apply: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        applies++;
        await new Promise((r) => setTimeout(r, 60));
        active--;
      },
      undo: () => {
        undone = true;
      },
    };
    const m = new MemoryMonitor({ intervalMs: 10, dimensions: ['cgroup'], responders: [slow], observeGc: false, sampler: { paths: cg.paths } });
    m.start();
    m.start(); // idempotent
    await new Promise((r) => setTimeout(r, 400));
    // A manual tick while the timer runs waits its turn too.
    await Promise.all([m.tick(), m.tick()]);
    await m.close();
    assert.equal(maxActive, 1);
    // At most one per 70 ms (10 ms wait + 60 ms apply) in 400 ms, plus the two manual ticks and one in between.
    assert.ok(applies >= 3 && applies <= 10, `applies ${applies}`);
    assert.equal(undone, true);
    const after = applies;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(applies, after, 'no tick after close');
    assert.equal(m.snapshot().running, false);
  });

  test('the timer does not keep the process alive', () => {
    const code = `import('${new URL('../../../src/platform/memory/monitor.ts', import.meta.url).href}').then((m) => { new m.MemoryMonitor({ intervalMs: 50 }).start(); console.log('started'); })`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'started');
    assert.ok(Date.now() - started < 14_000);
  });

  test('bad options are refused with the key', () => {
    assert.throws(() => new MemoryMonitor({ intervalMs: 1 }), /memory\.intervalMs/);
    assert.throws(() => new MemoryMonitor({ dimensions: ['ram' as 'heap'] }), /unknown dimension "ram"/);
    assert.throws(() => new MemoryMonitor({ thresholds: { high: 0.5 } }), /must rise/);
  });
});

describe('collectNow', () => {
  test('runs the exposed collector once and reports the heap it freed; null without one', async () => {
    let calls = 0;
    let garbage: unknown[] | undefined = Array.from({ length: 50_000 }, (_, i) => ({ i }));
    const withGc = createMemoryControl({
      gc: {
        fn: () => {
          calls++;
          garbage = undefined; // what a collection would reclaim
        },
      },
    });
    const freed = withGc.collectNow();
    assert.equal(calls, 1);
    assert.equal(typeof freed, 'number');
    assert.equal(garbage, undefined);
    await withGc.close();
    const exposed = (globalThis as { gc?: () => void }).gc;
    const without = createMemoryControl(exposed ? { gc: { enabled: false } } : {});
    // enabled: false turns off the responder; collectNow still uses an exposed collector if any.
    assert.equal(without.collectNow() === null, exposed === undefined);
    await without.close();
  });
});
