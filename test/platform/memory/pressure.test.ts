import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../../../src/platform/errors.js';
import { PressureTracker, computeRatios, DEFAULT_THRESHOLDS } from '../../../src/platform/memory/pressure.js';
import type { MemorySample, PressureLevel } from '../../../src/platform/memory/types.js';

const MiB = 1024 * 1024;

function sample(over: Partial<MemorySample> = {}): MemorySample {
  return {
    at: 0,
    rss: 200 * MiB,
    heapUsed: 50 * MiB,
    heapTotal: 60 * MiB,
    heapSizeLimit: 2096 * MiB,
    oldUsed: 40 * MiB,
    oldCommitted: 40 * MiB,
    oldLimit: 2048 * MiB,
    youngCommitted: 2 * MiB,
    external: 1 * MiB,
    arrayBuffers: 0,
    cgroup: null,
    constrained: null,
    system: null,
    eventLoop: { delayP50Ms: 0, delayP99Ms: 0, delayMaxMs: 0, utilization: 0 },
    ...over,
  };
}

const ALL = ['heap', 'cgroup', 'constrained', 'cap', 'system', 'swap'] as const;

describe('computeRatios', () => {
  test('each dimension against its own limit; the highest wins; the smallest byte limit is the effective one', () => {
    const s = sample({
      oldUsed: 90 * MiB,
      oldCommitted: 100 * MiB, // committed counts: 0.25
      oldLimit: 400 * MiB, // heap 0.25
      cgroup: { version: 2, limit: 1000 * MiB, usage: 900 * MiB, workingSet: 600 * MiB, swapUsage: null }, // 0.6
      constrained: 1000 * MiB, // rss 200 → 0.2
      system: { memTotal: 16000 * MiB, memAvailable: 4000 * MiB, swapTotal: 1000 * MiB, swapFree: 100 * MiB }, // 0.75, swap 0.9
    });
    const r = computeRatios(s, { dimensions: ALL, capBytes: 250 * MiB }); // cap 0.8
    assert.equal(r.ratios.heap, 0.25);
    assert.equal(r.ratios.cgroup, 0.6);
    assert.equal(r.ratios.constrained, 0.2);
    assert.equal(r.ratios.cap, 0.8);
    assert.equal(r.ratios.system, 0.75);
    assert.equal(r.ratios.swap, 0.9);
    assert.equal(r.dimension, 'swap');
    assert.equal(r.ratio, 0.9);
    assert.equal(r.effectiveLimitBytes, 250 * MiB);
    const noSwap = computeRatios(s, { dimensions: ['heap', 'cgroup', 'constrained', 'cap', 'system'], capBytes: 250 * MiB });
    assert.equal(noSwap.dimension, 'cap');
  });

  test('absent or unlimited sources do not count', () => {
    const s = sample({ cgroup: { version: 1, limit: null, usage: 5 * MiB, workingSet: 5 * MiB, swapUsage: null } });
    const r = computeRatios(s, { dimensions: ALL, capBytes: 0 });
    assert.deepEqual(Object.keys(r.ratios), ['heap']);
    assert.equal(r.effectiveLimitBytes, 2048 * MiB);
    assert.equal(computeRatios(s, { dimensions: ['system'], capBytes: 0 }).dimension, null);
  });
});

describe('PressureTracker', () => {
  const t = () => new PressureTracker({ ...DEFAULT_THRESHOLDS }, 0.05, 3);

  test('rises at once, even several levels', () => {
    const p = t();
    assert.equal(p.update(0.5), 'normal');
    assert.equal(p.update(0.71), 'moderate');
    assert.equal(p.update(0.96), 'critical');
  });

  test('steps down only below threshold − hysteresis, after 3 samples in a row', () => {
    const p = t();
    p.update(0.9);
    assert.equal(p.level, 'high');
    for (let i = 0; i < 10; i++) assert.equal(p.update(0.82), 'high', 'inside the hysteresis band: stays');
    assert.equal(p.update(0.79), 'high');
    assert.equal(p.update(0.79), 'high');
    assert.equal(p.update(0.82), 'high', 'back in the band: the count starts over');
    assert.equal(p.update(0.79), 'high');
    assert.equal(p.update(0.79), 'high');
    assert.equal(p.update(0.79), 'moderate');
    // A big fall goes straight to the level the ratio holds.
    p.update(0.97);
    p.update(0.1);
    p.update(0.1);
    assert.equal(p.update(0.1), 'normal');
  });

  test('a ratio oscillating across a threshold does not flap', () => {
    const p = t();
    p.update(0.87);
    let changes = 0;
    let last: PressureLevel = p.level;
    for (let i = 0; i < 200; i++) {
      const level = p.update(0.85 + (i % 2 ? 0.02 : -0.02));
      if (level !== last) changes++;
      last = level;
    }
    assert.equal(changes, 0);
    assert.equal(last, 'high');
  });

  test('property: raw level ≤ level ≤ the highest hysteresis-lowered level of the last 3 samples', () => {
    const rank = { normal: 0, moderate: 1, high: 2, critical: 3 } as const;
    const levelOf = (r: number, lower: number): number => (r >= 0.95 - lower ? 3 : r >= 0.85 - lower ? 2 : r >= 0.7 - lower ? 1 : 0);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1.2, noNaN: true }), { minLength: 1, maxLength: 300 }), (ratios) => {
        const p = t();
        for (let i = 0; i < ratios.length; i++) {
          const level = rank[p.update(ratios[i]!)];
          if (level < levelOf(ratios[i]!, 0)) return false;
          let ceiling = 0;
          for (let j = Math.max(0, i - 2); j <= i; j++) ceiling = Math.max(ceiling, levelOf(ratios[j]!, 0.05));
          if (level > ceiling) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  test('bad thresholds are refused with the key', () => {
    const bad: Array<[Parameters<typeof PressureTracker['prototype']['configure']>[0], number, string]> = [
      [{ moderate: 0.9, high: 0.85, critical: 0.95 }, 0.05, 'thresholds'],
      [{ moderate: 0.7, high: 0.85, critical: 1.5 }, 0.05, 'thresholds.critical'],
      [{ moderate: 0.7, high: 0.85, critical: 0.95 }, 0.8, 'hysteresis'],
    ];
    for (const [th, h, key] of bad) {
      assert.throws(() => new PressureTracker(th, h, 3), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID') && e.details?.key === key);
      const p = t();
      assert.throws(() => p.configure(th, h));
      assert.deepEqual(p.thresholds, DEFAULT_THRESHOLDS, 'a refused change leaves the old thresholds');
    }
    assert.throws(() => new PressureTracker({ ...DEFAULT_THRESHOLDS }, 0.05, 0), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID'));
  });

  test('configure at run time moves the thresholds', () => {
    const p = t();
    assert.equal(p.update(0.6), 'normal');
    p.configure({ moderate: 0.5, high: 0.6, critical: 0.9 }, 0.02);
    assert.equal(p.update(0.6), 'high');
  });
});
