import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Codec, HEADER_BYTES, versionOf } from '../../../src/platform/cache/codec.js';
import { isCacheError } from '../../../src/platform/cache/errors.js';
import { CountMinSketch, HotKeys, compileRules, prefetchTargets } from '../../../src/platform/cache/hot.js';
import { NS_SEP, checkKey, compileGlob, namespacePrefix, splitStored } from '../../../src/platform/cache/keys.js';
import { MemoryLayer } from '../../../src/platform/cache/memory.js';

const code = (c: string) => (err: unknown) => isCacheError(err) && err.code === c;

describe('keys', () => {
  it('accepts ordinary keys and refuses bad ones with CACHE_KEY_INVALID', () => {
    checkKey('user:42', 100);
    checkKey('ünïcødé/ключ 🔑', 100);
    assert.throws(() => checkKey('', 100), code('CACHE_KEY_INVALID'));
    assert.throws(() => checkKey('x'.repeat(101), 100), /1\.\.100 characters, got 101/);
    assert.throws(() => checkKey('a\x1fb', 100), /control character/);
    assert.throws(() => checkKey('line\nbreak', 100), code('CACHE_KEY_INVALID'));
    assert.throws(() => checkKey(42, 100), /must be a string, got number/);
    assert.throws(() => checkKey(null, 100), /got null/);
  });

  it('builds namespace prefixes that cannot collide with keys', () => {
    assert.equal(namespacePrefix(''), '');
    assert.equal(namespacePrefix('users/orders'), `users${NS_SEP}orders${NS_SEP}`);
    assert.deepEqual(splitStored(`users${NS_SEP}orders${NS_SEP}a/b:c`), { path: 'users/orders', key: 'a/b:c' });
    assert.deepEqual(splitStored('plain'), { path: '', key: 'plain' });
    assert.throws(() => namespacePrefix('bad name'), code('CACHE_KEY_INVALID'));
    assert.throws(() => namespacePrefix('a//b'), code('CACHE_KEY_INVALID'));
  });

  it('matches globs in linear time with captures', () => {
    const g = compileGlob('user:*:profile');
    assert.deepEqual(g.match('user:42:profile'), ['42']);
    assert.deepEqual(g.match('user::profile'), ['']);
    assert.equal(g.match('user:42:prefs'), undefined);
    assert.deepEqual(compileGlob('*').match('anything'), ['anything']);
    assert.deepEqual(compileGlob('a*b*c').match('aXbYbZc'), ['X', 'YbZ']);
    assert.equal(compileGlob('exact').match('exact')?.length, 0);
    assert.equal(compileGlob('ab*ba').match('aba'), undefined, 'prefix and suffix may not overlap');
    // A pattern that makes a backtracking RegExp explode is instant here.
    const evil = compileGlob('*a*a*a*a*a*a*a*b');
    const started = performance.now();
    assert.equal(evil.match('a'.repeat(1024)), undefined);
    assert.ok(performance.now() - started < 50);
    assert.throws(() => compileGlob('*'.repeat(9) + 'x'), code('CACHE_OPTIONS_INVALID'));
  });
});

describe('codec', () => {
  const codec = new Codec({ maxValueBytes: 100_000, compressThresholdBytes: 256 });

  it('round-trips values, times and tags', () => {
    const value = { id: 7, name: 'x', list: [1, 2, 3], nested: { ok: true, nil: null }, when: new Date(0), bin: Buffer.from([1, 2]) };
    const buf = codec.encode(value, 1000, 2000, 0.125, ['a', 'b'], true, 'k');
    const d = codec.decode(buf);
    assert.deepEqual(d.value, value);
    assert.equal(d.expiresAt, 1000);
    assert.equal(d.staleUntil, 2000);
    assert.deepEqual(d.tags, ['a', 'b']);
    assert.equal(d.size, buf.length);
    const inf = codec.decode(codec.encode(null, Infinity, Infinity, 0.5, undefined, true, 'k'));
    assert.equal(inf.value, null);
    assert.equal(inf.expiresAt, Infinity);
    assert.equal(inf.tags, undefined);
    assert.equal(d.writeId, 0.125);
    assert.ok(Math.abs(d.writtenAt - Date.now()) < 1000);
    assert.deepEqual(Codec.times(buf), { expiresAt: 1000, staleUntil: 2000, writeId: 0.125, writtenAt: d.writtenAt });
    assert.deepEqual(buf.subarray(17, 25), versionOf(0.125));
  });

  it('compresses large values when asked, and only then', () => {
    const big = { text: 'lorem ipsum dolor sit amet '.repeat(200) };
    const packed = codec.encode(big, 1, 2, 0.25, undefined, true, 'k');
    const plain = codec.encode(big, 1, 2, 0.25, undefined, false, 'k');
    assert.ok(packed.length < plain.length / 5, `${packed.length} vs ${plain.length}`);
    assert.equal(packed[0]! & 1, 1);
    assert.equal(plain[0]! & 1, 0);
    assert.deepEqual(codec.decode(packed).value, big);
    assert.deepEqual(codec.decode(plain).value, big);
    const small = codec.encode({ a: 1 }, 1, 2, 0.25, undefined, true, 'k');
    assert.equal(small[0]! & 1, 0, 'below the threshold nothing is compressed');
    const random = randomBytes(4000);
    assert.equal(codec.encode(random, 1, 2, 0.25, undefined, true, 'k')[0]! & 1, 0, 'incompressible data is kept as is');
  });

  it('refuses undefined, unserialisable and oversized values with clear errors', () => {
    assert.throws(() => codec.encode(undefined, 1, 2, 0.25, undefined, true, 'the-key'), (e: unknown) => isCacheError(e, 'CACHE_VALUE_INVALID') && /the-key/.test((e as Error).message));
    assert.throws(() => codec.encode(Symbol('s'), 1, 2, 0.25, undefined, true, 'k'), code('CACHE_VALUE_INVALID'));
    assert.throws(
      () => codec.encode('x'.repeat(200_000), 1, 2, 0.25, undefined, true, 'big'),
      (e: unknown) => isCacheError(e, 'CACHE_VALUE_TOO_LARGE') && e.details?.limit === 100_000,
    );
  });

  it('refuses foreign or damaged bytes instead of returning garbage', () => {
    assert.throws(() => codec.decode(Buffer.from('plain string from another program')), code('CACHE_VALUE_INVALID'));
    const good = codec.encode({ text: 'y'.repeat(5000) }, 1, 2, 0.25, undefined, true, 'k');
    const damaged = Buffer.from(good);
    damaged.fill(0xff, HEADER_BYTES, HEADER_BYTES + 10);
    assert.throws(() => codec.decode(damaged), code('CACHE_VALUE_INVALID'));
    // A compressed bomb larger than maxValueBytes is refused, not inflated.
    const small = new Codec({ maxValueBytes: 1_000, compressThresholdBytes: 1 });
    const bomb = codec.encode('z'.repeat(50_000), 1, 2, 0.25, undefined, true, 'k');
    assert.throws(() => small.decode(bomb), code('CACHE_VALUE_INVALID'));
  });
});

describe('hot keys', () => {
  it('a count-min sketch never underestimates and stays close', () => {
    const s = new CountMinSketch(1024, 4);
    const truth = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const k = `k${Math.floor(Math.abs(Math.sin(i)) * 500)}`;
      truth.set(k, (truth.get(k) ?? 0) + 1);
      s.add(k);
    }
    let over = 0;
    for (const [k, n] of truth) {
      const est = s.estimate(k);
      assert.ok(est >= n, `${k}: ${est} >= ${n}`);
      over += est - n;
    }
    // Expected overestimate per key is about total/width = 20; averaged over all keys it stays far below.
    assert.ok(over / truth.size < 20, `mean overestimate ${over / truth.size}`);
    s.decay();
    assert.ok(s.estimate('k0') <= Math.ceil(((truth.get('k0') ?? 0) + 20 * 4) / 2));
    assert.equal(s.bytes, 1024 * 4 * 4);
    assert.throws(() => new CountMinSketch(1000, 4), code('CACHE_OPTIONS_INVALID'));
  });

  it('ranks the hottest keys in a bounded table and forgets old heat', () => {
    const hot = new HotKeys({ capacity: 5, width: 1024, depth: 4, decayEvery: 1_000_000 });
    for (let round = 0; round < 200; round++) {
      for (let h = 0; h < 5; h++) for (let r = 0; r <= h; r++) hot.record(`hot${h}`);
      hot.record(`cold${round}`); // 200 different keys seen once
    }
    assert.equal(hot.size, 5);
    assert.deepEqual(
      hot.list().map((e) => e.key),
      ['hot4', 'hot3', 'hot2', 'hot1', 'hot0'],
    );
    const fresh = new HotKeys({ capacity: 3, width: 256, depth: 2, decayEvery: 100 });
    for (let i = 0; i < 90; i++) fresh.record('old');
    for (let i = 0; i < 400; i++) fresh.record(`new${i % 2}`);
    assert.deepEqual(
      fresh
        .list(2)
        .map((e) => e.key)
        .sort(),
      ['new0', 'new1'],
    );
  });

  it('derives prefetch targets from rules, per namespace', () => {
    const rules = compileRules([
      { when: 'user:*', fetch: ['user:$1:prefs', 'user:$1:avatar'] },
      { when: 'order:*:*', fetch: ['customer:$2'], namespace: 'shop' },
    ]);
    assert.deepEqual(prefetchTargets(rules, 'user:42'), ['user:42:prefs', 'user:42:avatar']);
    assert.deepEqual(prefetchTargets(rules, `shop${NS_SEP}order:1:c9`), [`shop${NS_SEP}customer:c9`]);
    assert.deepEqual(prefetchTargets(rules, `shop${NS_SEP}user:42`), [], 'a root rule does not fire inside a namespace');
    assert.deepEqual(prefetchTargets(rules, 'order:1:c9'), []);
    assert.throws(() => compileRules([{ when: 'x', fetch: [] }]), code('CACHE_OPTIONS_INVALID'));
    assert.throws(() => compileRules(Array.from({ length: 65 }, () => ({ when: 'x', fetch: ['y'] }))), code('CACHE_OPTIONS_INVALID'));
  });
});

describe('L1 memory layer', () => {
  const entry = (value: unknown, size = 100, tags?: string[]) => ({ value, ns: '', freshUntil: Infinity, expiresAt: Infinity, staleUntil: Infinity, writeId: 0.5, writtenAt: 0, tags, size });

  it('is bounded by items and by bytes, evicting the least recently used', () => {
    const m = new MemoryLayer({ maxItems: 3, maxBytes: 1_000_000 });
    for (const k of ['a', 'b', 'c']) m.set(k, entry(k));
    m.lru.get('a');
    m.set('d', entry('d'));
    assert.deepEqual([...m.lru.keys()].sort(), ['a', 'c', 'd']);
    assert.equal(m.stats().evictions, 1);
    const byBytes = new MemoryLayer({ maxItems: 1000, maxBytes: 2_000 });
    for (let i = 0; i < 20; i++) byBytes.set(`k${i}`, entry(i, 400));
    assert.ok(byBytes.stats().bytes <= 2_000);
    assert.ok(byBytes.stats().items < 5);
    byBytes.set('huge', entry('huge', 5_000));
    assert.equal(byBytes.lru.has('huge'), false, 'an entry larger than L1 is not kept');
  });

  it('shrinks under pressure and restores', () => {
    const m = new MemoryLayer({ maxItems: 100, maxBytes: 1_000_000 });
    for (let i = 0; i < 100; i++) m.set(`k${i}`, entry(i));
    const r = m.shrink(0.25);
    assert.equal(r.evicted, 75);
    assert.ok(r.freedBytes > 0);
    assert.equal(m.stats().items, 25);
    assert.ok(m.lru.has('k99') && !m.lru.has('k0'), 'the most recent stay');
    m.set('extra', entry('x'));
    assert.equal(m.stats().items, 25, 'the lowered bound holds for new writes');
    m.restore();
    for (let i = 0; i < 50; i++) m.set(`n${i}`, entry(i));
    assert.equal(m.stats().items, 75);
    assert.equal(m.stats().effectiveMaxItems, 100);
  });

  it('indexes tags and clears by prefix', () => {
    const m = new MemoryLayer({ maxItems: 100, maxBytes: 1_000_000 });
    m.set('a', entry(1, 10, ['t1']));
    m.set('b', entry(2, 10, ['t1', 't2']));
    m.set('c', entry(3, 10));
    m.set('b', entry(22, 10, ['t2'])); // re-tagged: no longer in t1
    assert.equal(m.deleteByTags(['t1']), 1);
    assert.deepEqual([...m.lru.keys()].sort(), ['b', 'c']);
    assert.equal(m.deleteByTags(['t2']), 1);
    assert.equal(m.stats().taggedKeys, 0);
    m.set(`ns${NS_SEP}x`, entry(1));
    m.set(`ns${NS_SEP}y`, entry(1));
    assert.equal(m.clear(`ns${NS_SEP}`), 2);
    assert.deepEqual([...m.lru.keys()], ['c']);
  });
});
