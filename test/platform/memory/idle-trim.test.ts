import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { IdleTrimmer, type GcFunction } from '../../../src/platform/memory/idle-trim.js';

const MiB = 1024 * 1024;
const sample = (at: number, utilization: number) => ({ at, eventLoop: { delayP50Ms: 0, delayP99Ms: 0, delayMaxMs: 0, utilization } });

/** A fake young generation: a minor GC shrinks it to `shrinksTo` when `willShrink` says so. */
function fakeHeap(startBytes: number) {
  const calls: Array<Parameters<GcFunction>[0]> = [];
  const heap = {
    young: startBytes,
    willShrink: true,
    calls,
    gc: ((o) => {
      calls.push(o);
      if (heap.willShrink) heap.young = 2 * MiB;
    }) as GcFunction,
  };
  return heap;
}

describe('IdleTrimmer', () => {
  test('trims once the event loop has stayed idle for afterMs, with a scavenge, and reports the sizes', () => {
    const h = fakeHeap(32 * MiB);
    const t = new IdleTrimmer(h.gc, { afterMs: 3000, youngBytes: () => h.young });
    for (let at = 0; at < 3000; at += 1000) assert.equal(t.observe(sample(at, 0.01)), null, `at ${at}`);
    assert.deepEqual(t.observe(sample(3000, 0.01)), { beforeBytes: 32 * MiB, afterBytes: 2 * MiB });
    assert.deepEqual(h.calls, [{ type: 'minor' }]);
    // Small now: nothing more to give back, no more GCs however long it idles.
    for (let at = 4000; at < 20_000; at += 1000) assert.equal(t.observe(sample(at, 0)), null);
    assert.equal(h.calls.length, 1);
  });

  test('a busy sample restarts the idle clock', () => {
    const h = fakeHeap(32 * MiB);
    const t = new IdleTrimmer(h.gc, { afterMs: 3000, youngBytes: () => h.young });
    t.observe(sample(0, 0.01));
    t.observe(sample(2000, 0.01));
    t.observe(sample(2500, 0.5)); // a burst of requests
    assert.equal(t.observe(sample(3500, 0.01)), null);
    assert.equal(t.observe(sample(6000, 0.01)), null, '2.5 s idle since the burst');
    assert.ok(t.observe(sample(6500, 0.01)));
    assert.equal(h.calls.length, 1);
  });

  test('when V8 keeps the young generation, it retries no more than once per afterMs', () => {
    const h = fakeHeap(32 * MiB);
    h.willShrink = false;
    const t = new IdleTrimmer(h.gc, { afterMs: 2000, youngBytes: () => h.young });
    const results = [];
    for (let at = 0; at <= 10_000; at += 500) results.push(t.observe(sample(at, 0)));
    assert.equal(h.calls.length, 5, 'at 2 s, 4 s, 6 s, 8 s and 10 s');
    assert.deepEqual(results.filter(Boolean)[0], { beforeBytes: 32 * MiB, afterBytes: 32 * MiB });
  });

  test('does nothing while its flag is off, or when the young generation is already small', () => {
    const h = fakeHeap(32 * MiB);
    let on = false;
    const t = new IdleTrimmer(h.gc, { afterMs: 1000, youngBytes: () => h.young, enabled: () => on });
    for (let at = 0; at <= 5000; at += 500) assert.equal(t.observe(sample(at, 0)), null);
    on = true;
    h.young = 3 * MiB; // under minYoungBytes (4 MiB)
    for (let at = 5500; at <= 9000; at += 500) assert.equal(t.observe(sample(at, 0)), null);
    assert.equal(h.calls.length, 0);
  });

  test('bad options are refused with the key', () => {
    const gc: GcFunction = () => undefined;
    assert.throws(() => new IdleTrimmer(gc, { afterMs: 10 }), /memory\.idleTrim\.afterMs: must be an integer in \[1000, 3600000\], got 10/);
    assert.throws(() => new IdleTrimmer(gc, { maxUtilization: 0 }), /memory\.idleTrim\.maxUtilization/);
  });

  test('in a real process, V8 gives the grown young generation back once the monitor sees it idle', () => {
    const child = new URL('./_child/idle-trim.ts', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { afterBurst: number; young: number; youngAtLastSample: number; trims: Array<{ beforeBytes: number; afterBytes: number; at: number }> };
    assert.ok(out.afterBurst >= 16 * MiB, `the burst grew the young generation: ${out.afterBurst / MiB} MiB`);
    assert.ok(out.trims.length >= 1, JSON.stringify(out));
    const shrunk = out.trims.find((t) => t.afterBytes < t.beforeBytes);
    assert.ok(shrunk, `V8 shrank it at a trim: ${JSON.stringify(out.trims)}`);
    assert.ok(shrunk.at >= 5000, `not before afterMs of idleness: ${shrunk.at} ms`);
    assert.ok(out.young <= 4 * MiB, `young generation at the end: ${out.young / MiB} MiB`);
    assert.ok(out.youngAtLastSample > 0);
  });
});
