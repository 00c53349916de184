import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, test } from 'node:test';
import { LRUCache } from 'lru-cache';
import { hasCode } from '../../../src/platform/errors.js';
import { breakerIsolator, createMemoryControl, limitShrinker } from '../../../src/platform/memory/control.js';
import { GcResponder, IsolateResponder, ResponderSet, ShedResponder, ShrinkResponder, type Responder } from '../../../src/platform/memory/responders.js';
import { LoadShedder } from '../../../src/platform/memory/shedder.js';
import type { ActionRecord, PressureLevel, Shrinkable } from '../../../src/platform/memory/types.js';
import { AdaptiveLimit, CircuitBreaker } from '../../../src/platform/resilience/index.js';

/** A real LRU whose capacity can be lowered and raised: what an L1 cache exposes to the monitor. */
class ShrinkableLru implements Shrinkable {
  readonly cache: LRUCache<string, string>;
  limit: number;
  constructor(readonly max: number) {
    this.cache = new LRUCache({ max });
    this.limit = max;
  }
  set(k: string, v: string): void {
    this.cache.set(k, v);
    while (this.cache.size > this.limit) this.cache.pop();
  }
  shrink(fraction: number): void {
    this.limit = Math.max(1, Math.floor(this.max * fraction));
    while (this.cache.size > this.limit) this.cache.pop();
  }
  restore(): void {
    this.limit = this.max;
  }
}

function realGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const summary = (records: ActionRecord[]): string[] => records.map((r) => `${r.responder}:${r.action}:${r.level}`);

describe('ResponderSet with the real parts', () => {
  test('engages in order as pressure rises, escalates at once, undoes newest first after cooldowns', async () => {
    const lru = new ShrinkableLru(100);
    for (let i = 0; i < 100; i++) lru.set(`k${i}`, 'x'.repeat(100));
    const limit = new AdaptiveLimit({ initial: 40, max: 64 });
    const breaker = new CircuitBreaker({ name: 'optional' });
    const shedder = new LoadShedder();
    const control = createMemoryControl({
      observeGc: false,
      gc: { fn: realGc(), cooldownMs: 5_000 },
      caches: { cooldownMs: 10_000 },
      concurrency: { cooldownMs: 3_000 },
      breakers: { cooldownMs: 3_000 },
      shed: { cooldownMs: 2_000 },
    });
    control.caches.add(lru);
    control.concurrency.add(limitShrinker(limit));
    control.breakers.add(breakerIsolator(breaker));
    // The control's own responders, driven through a set on our clock.
    const log: ActionRecord[] = [];
    const set = new ResponderSet([control.caches, control.gc!, control.concurrency, control.breakers, new ShedResponder(shedder, 'high', 2_000)], (r) => log.push(r), (n, e) => assert.fail(`${n}: ${e.message}`));

    await set.update('moderate', null, 0);
    assert.deepEqual(summary(log), ['cache.shrink:apply:moderate']);
    assert.equal(lru.cache.size, 50);
    assert.equal(limit.currentLimit, 40);

    log.length = 0;
    await set.update('critical', null, 1000);
    assert.deepEqual(summary(log), ['cache.shrink:escalate:critical', 'gc:apply:critical', 'concurrency.limit:apply:critical', 'breakers.isolate:apply:critical', 'shed:apply:critical']);
    assert.equal(lru.cache.size, 10);
    assert.equal(limit.currentLimit, 10, 'a quarter of the 40 in force');
    assert.equal(breaker.state.kind, 'open');
    assert.equal(shedder.mode, 'all');

    log.length = 0;
    await set.update('high', null, 2000);
    assert.deepEqual(summary(log), [], 'every responder acted 1 s ago: cooldowns hold the relaxing back');
    await set.update('high', null, 3000);
    assert.deepEqual(summary(log), ['shed:relax:high'], 'the newest relaxes first; concurrency (cooldown 3 s) holds the rest');
    assert.equal(shedder.mode, 'low');
    await set.update('high', null, 4000);
    assert.deepEqual(summary(log), ['shed:relax:high', 'concurrency.limit:relax:high']);
    assert.equal(limit.stats().ceiling, 20, 'the ceiling rises; AIMD grows the limit back with successes');
    assert.equal(breaker.state.kind, 'open', 'breakers stay isolated at high');

    log.length = 0;
    await set.update('high', null, 6000);
    assert.deepEqual(summary(log), ['gc:repeat:high'], 'the GC repeats after its 5 s cooldown while the level holds');

    log.length = 0;
    await set.update('normal', null, 9000);
    assert.deepEqual(summary(log), ['shed:undo:normal', 'breakers.isolate:undo:normal', 'concurrency.limit:undo:normal'], 'cache (cooldown 10 s since 1 s) still holds');
    assert.equal(shedder.mode, 'off');
    assert.equal(breaker.state.kind, 'closed');
    assert.equal(limit.stats().ceiling, 64);
    assert.equal(lru.limit, 10);
    log.length = 0;
    await set.update('normal', null, 11_000);
    assert.deepEqual(summary(log), ['cache.shrink:undo:normal']);
    assert.equal(lru.limit, 100);
    assert.deepEqual(set.list(), []);
    await control.close();
  });

  test('a responder in its cooldown holds back the ones engaged before it', async () => {
    const log: ActionRecord[] = [];
    const mk = (name: string, level: PressureLevel, cooldownMs: number): Responder => ({ name, level, cooldownMs, apply: () => undefined, undo: () => undefined });
    const set = new ResponderSet([mk('a', 'moderate', 0), mk('b', 'high', 10_000)], (r) => log.push(r), () => assert.fail());
    await set.update('high', null, 0);
    await set.update('normal', null, 5_000);
    assert.deepEqual(summary(log), ['a:apply:high', 'b:apply:high'], '"a" has no cooldown but waits for "b"');
    await set.update('normal', null, 10_000);
    assert.deepEqual(summary(log).slice(2), ['b:undo:normal', 'a:undo:normal']);
  });

  test('a failing responder is reported, retried after its cooldown, and does not stop the others', async () => {
    const errors: string[] = [];
    const log: ActionRecord[] = [];
    let fail = true;
    const flaky: Responder = {
      name: 'flaky',
      level: 'moderate',
      cooldownMs: 1000,
      apply: () => {
        if (fail) throw new Error('cache unavailable');
      },
    };
    const shedder = new LoadShedder();
    const set = new ResponderSet([flaky, new ShedResponder(shedder, 'moderate', 0)], (r) => log.push(r), (n, e) => errors.push(`${n}: ${e.message}`));
    await set.update('moderate', null, 0);
    assert.deepEqual(errors, ['flaky: cache unavailable']);
    assert.equal(shedder.mode, 'low');
    await set.update('moderate', null, 500);
    assert.equal(errors.length, 1, 'no retry inside the cooldown');
    fail = false;
    await set.update('moderate', null, 1000);
    assert.deepEqual(summary(log), ['shed:apply:moderate', 'flaky:apply:moderate']);
  });

  test('releaseAll undoes everything newest first, ignoring cooldowns', async () => {
    const order: string[] = [];
    const mk = (name: string): Responder => ({ name, level: 'moderate', cooldownMs: 60_000, apply: () => undefined, undo: () => void order.push(name) });
    const set = new ResponderSet([mk('a'), mk('b'), mk('c')], () => undefined, () => undefined);
    await set.update('critical', null, 0);
    await set.releaseAll(1);
    assert.deepEqual(order, ['c', 'b', 'a']);
  });

  test('targets added while engaged are shrunk or isolated at once; removed ones are released', () => {
    const shrink = new ShrinkResponder('cache.shrink', 'moderate', { moderate: 0.5, critical: 0.2 }, 0);
    shrink.apply('high');
    const lru = new ShrinkableLru(10);
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, 'v');
    shrink.add(lru);
    assert.equal(lru.cache.size, 5, 'high has no fraction of its own: moderate\'s 0.5 applies');
    assert.equal(shrink.fractionFor('critical'), 0.2);
    const iso = new IsolateResponder('high', 0);
    iso.apply();
    const breaker = new CircuitBreaker({ name: 'late' });
    const remove = iso.add(breakerIsolator(breaker));
    assert.equal(breaker.state.kind, 'open');
    remove();
    assert.equal(breaker.state.kind, 'closed');
  });

  test('the GC responder really collects', async () => {
    const gc = new GcResponder(realGc(), 'high', 0);
    let junk: number[][] | null = Array.from({ length: 200 }, () => new Array(10_000).fill(1.5));
    void junk.length;
    junk = null;
    const detail = await gc.apply();
    const freed = Number(/freed (-?[\d.]+) MB/.exec(detail)![1]);
    assert.ok(freed > 5, `freed ${freed} MB`);
  });

  test('bad responder settings are refused', () => {
    assert.throws(() => new ShrinkResponder('c', 'moderate', { moderate: 0 }, 0), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID'));
    assert.throws(() => new ShedResponder(new LoadShedder(), 'critical', 0, 'high'), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID'));
    const r: Responder = { name: 'x', level: 'high', cooldownMs: 0, apply: () => undefined };
    assert.throws(() => new ResponderSet([r, r], () => undefined, () => undefined), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID') && /duplicate/.test(e.message));
    assert.throws(() => new LoadShedder({ retryAfterSeconds: 0 }), (e: unknown) => hasCode(e, 'MEMORY_CONFIG_INVALID'));
  });
});

describe('LoadShedder', () => {
  test('off admits all; low refuses low; all refuses all but exempt', () => {
    const s = new LoadShedder();
    const admitted = () => (['low', 'normal', 'exempt'] as const).filter((p) => s.admits(p));
    assert.deepEqual(admitted(), ['low', 'normal', 'exempt']);
    s.setMode('low');
    assert.deepEqual(admitted(), ['normal', 'exempt']);
    s.setMode('all');
    assert.deepEqual(admitted(), ['exempt']);
    const seen: string[] = [];
    s.onShed = (p) => seen.push(p);
    s.recordShed('low');
    s.recordShed('normal');
    assert.deepEqual(s.shed, { low: 1, normal: 1 });
    assert.deepEqual(seen, ['low', 'normal']);
  });
});
