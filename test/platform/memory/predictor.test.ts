import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../../../src/platform/errors.js';
import { LeakDetector } from '../../../src/platform/memory/leak.js';
import { MAX_POINTS, TrendPredictor, linearFit } from '../../../src/platform/memory/predictor.js';

const MiB = 1024 * 1024;
const T0 = 1_700_000_000_000; // epoch-ms magnitudes, as in production

describe('linearFit', () => {
  test('exact on a line, null on a single instant', () => {
    const f = linearFit([T0, T0 + 1000, T0 + 2000], [0.1, 0.2, 0.3])!;
    assert.ok(Math.abs(f.slope - 0.0001) < 1e-12);
    assert.equal(linearFit([T0, T0], [1, 2]), null);
    assert.equal(linearFit([T0], [1]), null);
  });
});

describe('TrendPredictor', () => {
  test('a steady rise: the time to critical is exact', () => {
    const p = new TrendPredictor({ windowMs: 60_000, minSamples: 10 });
    // 0.01 per second from 0.30: critical 0.95 is 65 s after the start.
    for (let s = 0; s <= 20; s++) p.add(T0 + s * 1000, { heap: 0.3 + 0.01 * s });
    const r = p.predict(T0 + 20_000, 0.95);
    assert.equal(r.dimension, 'heap');
    assert.ok(Math.abs(r.timeToCriticalMs! - 45_000) < 1, String(r.timeToCriticalMs));
    assert.ok(Math.abs(r.slopePerSecond! - 0.01) < 1e-9);
  });

  test('a GC sawtooth on top of a rise: the regression sees through it', () => {
    const p = new TrendPredictor({ windowMs: 60_000, minSamples: 10 });
    for (let s = 0; s <= 60; s++) p.add(T0 + s * 1000, { heap: 0.2 + 0.005 * s + ((s % 7) / 7) * 0.08 });
    // Trend: 0.005/s; the sawtooth's mean is 3/7 × 0.08; at t = 60 the line is at ≈ 0.534.
    const r = p.predict(T0 + 60_000, 0.95);
    const expected = (0.95 - (0.2 + 0.005 * 60 + (3 / 7) * 0.08)) / 0.005 * 1000;
    assert.ok(Math.abs(r.timeToCriticalMs! - expected) / expected < 0.1, `${r.timeToCriticalMs} vs ${expected}`);
  });

  test('flat or falling: no prediction; already critical: 0; too few samples: none', () => {
    const p = new TrendPredictor({ windowMs: 60_000, minSamples: 10 });
    for (let s = 0; s < 9; s++) p.add(T0 + s * 1000, { heap: 0.3 + 0.05 * s });
    assert.equal(p.predict(T0 + 8000, 0.95).timeToCriticalMs, null, '9 samples < minSamples');
    const flat = new TrendPredictor({ windowMs: 60_000, minSamples: 10 });
    for (let s = 0; s < 20; s++) flat.add(T0 + s * 1000, { heap: 0.5, system: 0.9 - s * 0.001 });
    assert.equal(flat.predict(T0 + 19_000, 0.95).timeToCriticalMs, null);
    const hot = new TrendPredictor({ windowMs: 60_000, minSamples: 10 });
    for (let s = 0; s < 20; s++) hot.add(T0 + s * 1000, { cgroup: 0.96 - s * 0.001 + (s === 19 ? 0.01 : 0) });
    assert.equal(hot.predict(T0 + 19_000, 0.95).timeToCriticalMs, 0);
  });

  test('the soonest dimension wins', () => {
    const p = new TrendPredictor({ windowMs: 60_000, minSamples: 5 });
    for (let s = 0; s < 10; s++) p.add(T0 + s * 1000, { heap: 0.5 + 0.001 * s, cgroup: 0.4 + 0.02 * s });
    const r = p.predict(T0 + 9000, 0.95);
    assert.equal(r.dimension, 'cgroup');
    assert.ok(Math.abs(r.timeToCriticalMs! - ((0.95 - 0.58) / 0.02) * 1000) < 1);
  });

  test('the window slides: an old fall is forgotten once out of the window', () => {
    const p = new TrendPredictor({ windowMs: 10_000, minSamples: 5 });
    for (let s = 0; s < 10; s++) p.add(T0 + s * 1000, { heap: 0.9 - 0.05 * s });
    for (let s = 10; s < 30; s++) p.add(T0 + s * 1000, { heap: 0.3 + 0.01 * (s - 10) });
    const r = p.predict(T0 + 29_000, 0.95);
    assert.ok(Math.abs(r.timeToCriticalMs! - ((0.95 - 0.49) / 0.01) * 1000) < 1, String(r.timeToCriticalMs));
  });

  test(`memory stays bounded: at most ${MAX_POINTS} points whatever the window`, () => {
    const p = new TrendPredictor({ windowMs: 86_400_000, minSamples: 3 });
    for (let i = 0; i < MAX_POINTS * 2; i++) p.add(T0 + i, { heap: i / (MAX_POINTS * 4) });
    const series = (p as unknown as { series: Map<string, { t: number[] }> }).series.get('heap')!;
    assert.equal(series.t.length, MAX_POINTS);
  });

  test('property: on any rising line the prediction is the analytic answer', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.9, noNaN: true }), fc.double({ min: 1e-5, max: 0.05, noNaN: true }), fc.integer({ min: 10, max: 100 }), (start, slope, n) => {
        const p = new TrendPredictor({ windowMs: 1_000_000, minSamples: 10 });
        for (let s = 0; s < n; s++) p.add(T0 + s * 1000, { heap: start + slope * s });
        const last = start + slope * (n - 1);
        const r = p.predict(T0 + (n - 1) * 1000, 0.95);
        if (last >= 0.95) return r.timeToCriticalMs === 0;
        const expected = ((0.95 - last) / slope) * 1000;
        return Math.abs(r.timeToCriticalMs! - expected) <= Math.max(1e-6 * expected, 1e-3);
      }),
      { numRuns: 300 },
    );
  });

  test('bad options are refused with the key', () => {
    assert.throws(() => new TrendPredictor({ windowMs: 10, minSamples: 10 }), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID') && e.details?.key === 'predictor.windowMs');
    assert.throws(() => new TrendPredictor({ windowMs: 60_000, minSamples: 2 }), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID') && e.details?.key === 'predictor.minSamples');
  });
});

describe('LeakDetector', () => {
  // Readings every second: a baseline that grows `mbPerHour`, plus garbage that piles up between GCs.
  function feed(d: LeakDetector, fromS: number, toS: number, mbPerHour: (s: number) => number, base = 100 * MiB): Array<{ s: number; change: string }> {
    const changes: Array<{ s: number; change: string }> = [];
    let kept = base;
    for (let s = fromS; s < toS; s++) {
      kept += (mbPerHour(s) * MiB) / 3600;
      const garbage = ((s * 7919) % 13) * 0.4 * MiB; // 0..4.8 MiB, back to 0 after each "GC"
      const change = d.observe(T0 + s * 1000, kept + garbage);
      if (change) changes.push({ s, change });
    }
    return changes;
  }

  test('a steady 36 MB/h leak fires after `windows` rising windows, with its rate', () => {
    const d = new LeakDetector({ windowMs: 60_000, windows: 3, minGrowthMbPerHour: 10 });
    const changes = feed(d, 0, 300, () => 36);
    assert.deepEqual(changes.map((c) => c.change), ['firing']);
    // 4 baselines are needed: the 4th window closes at 240 s.
    assert.equal(changes[0]!.s, 240);
    const g = d.growthMbPerHour()!;
    assert.ok(Math.abs(g - 36) / 36 < 0.15, `growth ${g}`);
    assert.equal(d.leakSuspected, true);
  });

  test('flat memory with GC noise never fires; its growth is near 0', () => {
    const d = new LeakDetector({ windowMs: 60_000, windows: 3, minGrowthMbPerHour: 10 });
    assert.deepEqual(feed(d, 0, 1200, () => 0), []);
    assert.ok(Math.abs(d.growthMbPerHour()!) < 10);
  });

  test('growth slower than the minimum does not fire; a leak that stops resolves', () => {
    const slow = new LeakDetector({ windowMs: 60_000, windows: 3, minGrowthMbPerHour: 50 });
    assert.deepEqual(feed(slow, 0, 600, () => 30), []);
    const d = new LeakDetector({ windowMs: 60_000, windows: 3, minGrowthMbPerHour: 10 });
    const changes = feed(d, 0, 900, (s) => (s < 400 ? 60 : 0));
    assert.deepEqual(changes.map((c) => c.change), ['firing', 'resolved']);
    assert.ok(changes[1]!.s > 400);
  });

  test('a tick that comes late keeps windows aligned', () => {
    const d = new LeakDetector({ windowMs: 1000, windows: 2, minGrowthMbPerHour: 0 });
    d.observe(T0, 10);
    d.observe(T0 + 3500, 20); // skipped two windows
    d.observe(T0 + 4100, 30);
    // Baselines: 10 B at T0 (window [T0, T0+1s)), then 20 B at T0+3.5s (window [T0+3s, T0+4s)).
    const expected = ((20 - 10) / 3500) * 3_600_000 / MiB;
    assert.ok(Math.abs(d.growthMbPerHour()! - expected) < 1e-12);
  });

  test('bad options are refused with the key', () => {
    assert.throws(() => new LeakDetector({ windowMs: 60_000, windows: 1, minGrowthMbPerHour: 10 }), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID') && e.details?.key === 'leak.windows');
  });
});
