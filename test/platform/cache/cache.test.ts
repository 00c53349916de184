import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createCache } from '../../../src/platform/cache/index.js';
import type { CacheOptions, TieredCache } from '../../../src/platform/cache/index.js';
import { isCacheError } from '../../../src/platform/cache/errors.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { PrivateRedis, REDIS_URL, dropPrefix, uniquePrefix } from './helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'cache-test-'));
const open: TieredCache[] = [];
const prefixes: string[] = [];
const raw = new Redis(REDIS_URL);
after(async () => {
  for (const c of open) await c.close();
  for (const p of prefixes) await dropPrefix(p);
  raw.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const code = (c: string) => (err: unknown) => isCacheError(err) && err.code === c;

async function make(opts: CacheOptions & { redis?: boolean | string; disk?: boolean | string } = {}): Promise<TieredCache> {
  const { redis, disk, ...rest } = opts;
  const cfg: CacheOptions = { onWarning: () => undefined, ...rest };
  if (redis) {
    const prefix = typeof redis === 'string' ? redis : uniquePrefix('api');
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    cfg.l2 = { url: REDIS_URL, prefix, ...(typeof rest.l2 === 'object' ? rest.l2 : {}) };
  }
  if (disk) cfg.l3 = { path: typeof disk === 'string' ? disk : join(dir, `c${files++}.db`) };
  const c = await createCache(cfg);
  open.push(c);
  return c;
}

describe('tiered cache: API on L1 + L3 (the embedded default)', () => {
  it('sets, gets (sync and async), gets many and deletes', async () => {
    const c = await make({ disk: true });
    await c.set('a', { n: 1 });
    await c.set('b', [1, 2, 3]);
    assert.deepEqual(c.getSync('a'), { n: 1 });
    assert.deepEqual(c.peek('b'), [1, 2, 3]);
    assert.deepEqual(await c.get('a'), { n: 1 });
    assert.deepEqual(await c.getMany(['a', 'missing', 'b']), [{ n: 1 }, undefined, [1, 2, 3]]);
    await c.delete('a');
    assert.equal(await c.get('a'), undefined);
    await c.setMany([
      { key: 'x', value: 'X', ttl: 60_000 },
      { key: 'y', value: null },
    ]);
    assert.deepEqual(await c.getMany(['x', 'y']), ['X', null]);
    await c.deleteMany(['x', 'y']);
    assert.deepEqual(await c.getMany(['x', 'y']), [undefined, undefined]);
  });

  it('expires entries after their ttl in every layer', async () => {
    const c = await make({ disk: true });
    await c.set('short', 'v', { ttl: 40 });
    assert.equal(c.getSync('short'), 'v');
    await sleep(90);
    assert.equal(c.getSync('short'), undefined);
    assert.equal(await c.get('short'), undefined, 'L3 does not resurrect it either');
  });

  it('keeps namespaces apart, nests them and clears one without touching the others', async () => {
    const c = await make({ disk: true });
    const users = c.namespace('users');
    const orders = users.namespace('orders');
    await c.set('1', 'root');
    await users.set('1', 'user');
    await orders.set('1', 'order');
    assert.equal(orders.path, 'users/orders');
    assert.deepEqual([c.getSync('1'), users.getSync('1'), orders.getSync('1')], ['root', 'user', 'order']);
    assert.deepEqual(await users.getMany(['1', '2']), ['user', undefined]);
    await users.set('t', 'tagged', { tags: ['shared'] });
    await c.set('t', 'root-tagged', { tags: ['shared'] });
    await users.deleteByTag('shared');
    assert.equal(await users.get('t'), undefined);
    assert.equal(await c.get('t'), 'root-tagged', 'a tag is scoped to its namespace');
    await users.clear();
    assert.equal(await users.get('1'), undefined);
    assert.equal(await orders.get('1'), undefined, 'nested namespaces go with their parent');
    assert.equal(await c.get('1'), 'root');
    await c.clear();
    assert.equal(await c.get('1'), undefined);
  });

  it('refuses bad keys, values, batches and options with clear errors', async () => {
    const c = await make({ disk: true, maxValueBytes: 1_000, maxBatch: 10 });
    await assert.rejects(c.get(''), code('CACHE_KEY_INVALID'));
    await assert.rejects(c.set('a\nb', 1), code('CACHE_KEY_INVALID'));
    await assert.rejects(c.get(42 as unknown as string), code('CACHE_KEY_INVALID'));
    assert.throws(() => c.getSync('x'.repeat(2000)), code('CACHE_KEY_INVALID'));
    await assert.rejects(c.namespace('ok').get(7 as unknown as string), code('CACHE_KEY_INVALID'));
    assert.throws(() => c.namespace('no spaces'), code('CACHE_KEY_INVALID'));
    await assert.rejects(c.set('big', 'x'.repeat(5_000)), (e: unknown) => isCacheError(e, 'CACHE_VALUE_TOO_LARGE') && /big/.test((e as Error).message));
    await assert.rejects(c.set('u', undefined), code('CACHE_VALUE_INVALID'));
    await assert.rejects(c.getMany(Array.from({ length: 11 }, (_, i) => `k${i}`)), code('CACHE_BATCH_TOO_LARGE'));
    await assert.rejects(c.set('t', 1, { ttl: -5 }), code('CACHE_OPTIONS_INVALID'));
    await assert.rejects(c.set('t', 1, { tags: ['ok', 'bad\ttag'] }), code('CACHE_KEY_INVALID'));
    await assert.rejects(c.getOrSet('f', 'not a function' as never), code('CACHE_OPTIONS_INVALID'));
    await assert.rejects(
      c.setMany([
        { key: 'good', value: 1 },
        { key: 'bad', value: undefined },
      ]),
      code('CACHE_VALUE_INVALID'),
    );
    assert.equal(await c.get('good'), undefined, 'a refused batch writes nothing');
    assert.throws(() => new (c.constructor as new (o: CacheOptions) => TieredCache)({ ttlMs: 0 }), code('CACHE_OPTIONS_INVALID'));
    assert.throws(() => new (c.constructor as new (o: CacheOptions) => TieredCache)({ l2: { url: 'http://x' } }), code('CACHE_OPTIONS_INVALID'));
  });

  it('keeps L3 contents across a restart', async () => {
    const path = join(dir, 'restart.db');
    const a = await make({ disk: path, hotKeys: false });
    await a.set('kept', { big: 'z'.repeat(5_000) }, { ttl: 60_000, tags: ['grp'] });
    await a.set('also', 2);
    await a.close();
    const b = await make({ disk: path, hotKeys: false });
    assert.equal(b.getSync('kept'), undefined, 'a new process starts with an empty L1');
    assert.deepEqual(await b.get('kept'), { big: 'z'.repeat(5_000) });
    assert.equal(b.stats().l3?.hits, 1);
    assert.equal(await b.get('also'), 2);
    await b.deleteByTag('grp');
    assert.equal(await b.get('kept'), undefined);
  });

  it('refuses calls once closed', async () => {
    const c = await make({ disk: true });
    await c.set('a', 1);
    await c.close();
    await c.close();
    await assert.rejects(c.get('a'), code('CACHE_CLOSED'));
    assert.throws(() => c.getSync('a'), code('CACHE_CLOSED'));
  });
});

describe('tiered cache: getOrSet', () => {
  it('runs the factory once for concurrent callers in one process', async () => {
    const c = await make({});
    let runs = 0;
    const values = await Promise.all(
      Array.from({ length: 100 }, () =>
        c.getOrSet('k', async () => {
          runs++;
          await sleep(30);
          return { made: runs };
        }),
      ),
    );
    assert.equal(runs, 1);
    assert.ok(values.every((v) => v.made === 1));
    assert.equal(await c.getOrSet('k', () => ({ made: 99 })), values[0], 'then it is a hit');
    assert.equal(c.stats().coalesced, 99);
  });

  it('passes errors through and caches nothing for undefined; null is a value', async () => {
    const c = await make({});
    await assert.rejects(
      c.getOrSet('e', () => {
        throw new Error('source down');
      }),
      /source down/,
    );
    let n = 0;
    assert.equal(await c.getOrSet('u', () => (n++, undefined)), undefined);
    assert.equal(await c.getOrSet('u', () => (n++, undefined)), undefined);
    assert.equal(n, 2);
    assert.equal(await c.getOrSet('nil', () => null), null);
    assert.equal(await c.getOrSet('nil', () => 'not called'), null);
  });

  it('serves stale within grace and refreshes in the background', async () => {
    const c = await make({ disk: true });
    let version = 0;
    const factory = async (): Promise<string> => {
      version++;
      await sleep(40);
      return `v${version}`;
    };
    assert.equal(await c.getOrSet('swr', factory, { ttl: 30, grace: 60_000 }), 'v1');
    await sleep(50);
    const started = performance.now();
    const stale = await c.getOrSet('swr', factory, { ttl: 30, grace: 60_000 });
    assert.equal(stale, 'v1');
    assert.ok(performance.now() - started < 30, 'stale is served without waiting for the factory');
    assert.equal(await c.getOrSet('swr', factory, { ttl: 30, grace: 60_000 }), 'v1', 'still stale while the refresh runs');
    await sleep(60);
    assert.equal(version, 2, 'one refresh for both stale reads');
    assert.equal(await c.getOrSet('swr', factory, { ttl: 60_000 }), 'v2');
    assert.ok(c.stats().staleServed >= 2);
  });

  it('waits for a refresh up to the soft timeout', async () => {
    const c = await make({});
    await c.set('soft', 'old', { ttl: 20, grace: 60_000 });
    await sleep(40);
    const fast = await c.getOrSet('soft', async () => (await sleep(5), 'new'), { ttl: 60_000, softTimeout: 500 });
    assert.equal(fast, 'new', 'a refresh faster than the soft timeout is awaited');
    await c.set('soft2', 'old', { ttl: 20, grace: 60_000 });
    await sleep(40);
    const started = performance.now();
    const slow = await c.getOrSet('soft2', async () => (await sleep(300), 'new'), { ttl: 60_000, softTimeout: 30 });
    assert.equal(slow, 'old');
    const took = performance.now() - started;
    assert.ok(took >= 25 && took < 250, `soft timeout returned stale after ${took} ms`);
  });

  it('gives up on a factory at the hard timeout, or serves stale and backs off', async () => {
    const c = await make({ graceBackoffMs: 200 });
    let aborted = false;
    await assert.rejects(
      c.getOrSet(
        'hang',
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(signal.reason);
            });
          }),
        { hardTimeout: 40 },
      ),
      (e: unknown) => isCacheError(e, 'CACHE_FACTORY_TIMEOUT') && /40 ms/.test((e as Error).message),
    );
    assert.equal(aborted, true, 'the factory was told through its signal');
    assert.equal(c.stats().factory.timeouts, 1);

    await c.set('flaky', 'good', { ttl: 20, grace: 60_000 });
    await sleep(40);
    let calls = 0;
    const failing = (): never => {
      calls++;
      throw new Error('boom');
    };
    assert.equal(await c.getOrSet('flaky', failing, { softTimeout: 1_000 }), 'good', 'a failing refresh falls back to stale');
    assert.equal(calls, 1);
    assert.equal(await c.getOrSet('flaky', failing), 'good');
    assert.equal(calls, 1, 'no retry during the backoff');
    await sleep(220);
    await c.getOrSet('flaky', failing, { softTimeout: 1_000 });
    assert.equal(calls, 2, 'retried after the backoff');
  });
});

describe('tiered cache: with Redis (L2)', () => {
  it('reads through L2 and backfills L1 and L3; L2 is the authority while up', async () => {
    const prefix = uniquePrefix('auth');
    const writer = await make({ redis: prefix });
    const reader = await make({ redis: prefix, disk: true });
    await writer.set('shared', { from: 'writer' });
    assert.equal(reader.getSync('shared'), undefined);
    assert.deepEqual(await reader.get('shared'), { from: 'writer' });
    assert.deepEqual(reader.getSync('shared'), { from: 'writer' }, 'promoted into L1');
    assert.equal(reader.stats().l2?.hits, 1);
    await reader.flush();
    // Deleted in Redis behind the reader's back (no bus message): its L3 copy must not answer.
    await raw.unlink(`${prefix}v:shared`);
    await sleep(20);
    assert.equal(await reader.namespace('x').get('shared'), undefined);
  });

  it('does not let a read that raced a write put the old value into L1', async () => {
    const prefix = uniquePrefix('race');
    const other = await make({ redis: prefix });
    await other.set('k', 'old');
    const c = await make({ redis: prefix, disk: true });
    const reading = c.get('k'); // L2 GET on the wire
    await c.set('k', 'new'); // written while the read is under way
    assert.equal(await reading, 'old', 'the read returns what it read');
    assert.equal(c.getSync('k'), 'new', 'but L1 keeps the newer write');
    const many = c.getMany(['k2']);
    await other.set('k2', 'x');
    await many;
    await c.delete('k');
    const again = c.get('k');
    await c.set('k', 'newest');
    await again;
    assert.equal(c.getSync('k'), 'newest');
  });

  it('getMany fetches everything L1 lacks with one MGET', async () => {
    // On a private server, so its command statistics count this test's commands only.
    const own = await PrivateRedis.start();
    const stats = new Redis(own.url);
    try {
      const writer = await make({ l2: { url: own.url, prefix: 'mget:' } });
      const keys = Array.from({ length: 100 }, (_, i) => `m${i}`);
      await writer.setMany(keys.map((key, i) => ({ key, value: i })));
      const reader = await make({ l2: { url: own.url, prefix: 'mget:', bus: false } });
      await sleep(20);
      await stats.config('RESETSTAT');
      const values = await reader.getMany([...keys, 'absent']);
      const info = await stats.info('commandstats');
      const calls = Object.fromEntries([...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
      assert.deepEqual(values, [...keys.map((_, i) => i), undefined]);
      assert.equal(calls.mget, 1, `commands: ${JSON.stringify(calls)}`);
      assert.equal(calls.get, undefined, 'no per-key GET');
      assert.deepEqual(await reader.getMany(keys.slice(0, 3)), [0, 1, 2], 'now from L1');
    } finally {
      stats.disconnect();
      for (const c of open.splice(-2)) await c.close();
      await own.stop();
    }
  });

  it('deletes by tag in every layer', async () => {
    const prefix = uniquePrefix('tags');
    const c = await make({ redis: prefix, disk: true });
    await c.set('a', 1, { tags: ['red'] });
    await c.set('b', 2, { tags: ['red', 'blue'] });
    await c.set('c', 3, { tags: ['blue'] });
    assert.equal(await raw.exists(`${prefix}v:a`, `${prefix}v:b`, `${prefix}v:c`), 3);
    assert.ok((await raw.pttl(`${prefix}t:red`)) > 0, 'tag sets expire with their members');
    await c.deleteByTag('red');
    assert.equal(await raw.exists(`${prefix}v:a`, `${prefix}v:b`), 0);
    assert.deepEqual(await c.getMany(['a', 'b', 'c']), [undefined, undefined, 3]);
    await c.flush();
    assert.equal((await c.stats()).l3?.items, 1);
  });

  it('compresses large values only while the compression flag is on', async () => {
    const prefix = uniquePrefix('zip');
    let on = true;
    const c = await make({ redis: prefix, flags: { compression: () => on } });
    const big = { text: 'compressible '.repeat(500) };
    await c.set('z1', big);
    on = false;
    await c.set('z2', big);
    const [z1, z2] = await raw.mgetBuffer(`${prefix}v:z1`, `${prefix}v:z2`);
    assert.equal(z1![0]! & 1, 1);
    assert.equal(z2![0]! & 1, 0);
    assert.ok(z1!.length * 5 < z2!.length);
    const other = await make({ redis: prefix });
    assert.deepEqual(await other.getMany(['z1', 'z2']), [big, big]);
  });

  it('with the cache.l2 flag off, leaves Redis alone and replays its writes when back on', async () => {
    const prefix = uniquePrefix('flag');
    let l2 = true;
    const c = await make({ redis: prefix, disk: true, flags: { l2: () => l2 } });
    await c.set('before', 1);
    await c.set('gone', 1);
    l2 = false;
    await c.set('during', 2, { tags: ['t'] });
    await c.delete('gone');
    assert.equal(await c.get('during'), 2);
    assert.equal(await raw.exists(`${prefix}v:during`), 0, 'nothing written to Redis while off');
    assert.equal(await raw.exists(`${prefix}v:gone`), 1);
    assert.equal(c.stats().l2?.dirty, 2);
    l2 = true;
    c.checkFlags();
    for (let i = 0; i < 50 && (await raw.exists(`${prefix}v:during`)) === 0; i++) await sleep(10);
    assert.equal(await raw.exists(`${prefix}v:during`), 1, 'the write made while off reached Redis');
    assert.equal(await raw.exists(`${prefix}v:gone`), 0, 'and so did the delete');
    assert.equal(c.stats().l2?.dirty, 0);
  });

  it('replays a missed write unless Redis holds a later one', async () => {
    const prefix = uniquePrefix('replay-order');
    let l2 = true;
    const c = await make({ redis: prefix, disk: true, flags: { l2: () => l2 } });
    const other = await make({ redis: prefix });
    await other.set('older-in-redis', 'theirs-before');
    await sleep(5);
    l2 = false;
    await c.set('older-in-redis', 'mine-later');
    await c.set('newer-in-redis', 'mine-earlier');
    await sleep(5);
    await other.set('newer-in-redis', 'theirs-later');
    l2 = true;
    c.checkFlags();
    for (let i = 0; i < 100 && c.stats().l2!.dirty > 0; i++) await sleep(10);
    await sleep(20);
    const third = await make({ redis: prefix });
    assert.equal(await third.get('older-in-redis'), 'mine-later', 'our later write replaced the older one');
    assert.equal(await third.get('newer-in-redis'), 'theirs-later', 'a later write in Redis wins over our replay');
    assert.equal(await c.get('newer-in-redis'), 'theirs-later', 'and our local copy of the loser is gone');
  });

  it('evicts other instances’ L1 copies through the bus: set, delete, tags, clear', async () => {
    const prefix = uniquePrefix('bus');
    const a = await make({ redis: prefix });
    const b = await make({ redis: prefix });
    const settle = async (check: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !check(); i++) await sleep(5);
    };
    await a.set('k', 'v1', { tags: ['g'] });
    assert.equal(await b.get('k'), 'v1');
    await a.set('k', 'v2', { tags: ['g'] });
    await settle(() => b.getSync('k') === undefined);
    assert.equal(b.getSync('k'), undefined);
    assert.equal(await b.get('k'), 'v2');
    await a.deleteByTag('g');
    await settle(() => b.getSync('k') === undefined);
    assert.equal(b.getSync('k'), undefined);
    await a.namespace('n').set('x', 1);
    assert.equal(await b.namespace('n').get('x'), 1);
    await a.namespace('n').clear();
    await settle(() => b.namespace('n').getSync('x') === undefined);
    assert.equal(b.namespace('n').getSync('x'), undefined);
    assert.ok(b.stats().bus!.received >= 3);
  });

  it('keeps a copy of the very write a bus message announces', async () => {
    const prefix = uniquePrefix('same-write');
    const a = await make({ redis: prefix });
    const b = await make({ redis: prefix });
    for (let i = 0; i < 5; i++) {
      const before = b.stats().bus!.received;
      await a.set(`k${i}`, { round: i });
      assert.deepEqual(await b.get(`k${i}`), { round: i }); // most likely read before the message lands
      for (let j = 0; j < 200 && b.stats().bus!.received === before; j++) await sleep(2);
      assert.equal(b.stats().bus!.received, before + 1);
      assert.deepEqual(b.getSync(`k${i}`), { round: i }, 'the message about this write did not evict it');
    }
  });

  it('runs a factory once across two instances sharing Redis (lease)', async () => {
    const prefix = uniquePrefix('lease2');
    const a = await make({ redis: prefix });
    const b = await make({ redis: prefix });
    let runs = 0;
    const factory = async (): Promise<string> => {
      runs++;
      await sleep(80);
      return 'once';
    };
    const all = await Promise.all([...Array.from({ length: 20 }, () => a.getOrSet('L', factory)), ...Array.from({ length: 20 }, () => b.getOrSet('L', factory))]);
    assert.equal(runs, 1);
    assert.ok(all.every((v) => v === 'once'));
    assert.equal(a.stats().factory.leaseWaits + b.stats().factory.leaseWaits, 1);
  });

  it('hands the lease on when its holder fails', async () => {
    const prefix = uniquePrefix('lease3');
    const a = await make({ redis: prefix });
    const b = await make({ redis: prefix });
    const first = a.getOrSet('F', async () => {
      await sleep(40);
      throw new Error('holder failed');
    });
    for (let i = 0; i < 200 && (await raw.exists(`${prefix}l:F`)) === 0; i++) await sleep(2); // a holds the lease
    const second = b.getOrSet('F', () => 'from b');
    await assert.rejects(first, /holder failed/);
    assert.equal(await second, 'from b');
  });
});

describe('tiered cache: hot keys, warming, prefetch, memory pressure, metrics', () => {
  it('persists the hot set and warms L1 from it at start', async () => {
    const path = join(dir, 'hot.db');
    const a = await make({ disk: path, hotKeys: { sampleEvery: 1, capacity: 4 } });
    for (let i = 0; i < 20; i++) await a.set(`k${i}`, i);
    for (let round = 0; round < 30; round++) for (const k of ['k3', 'k7', 'k11']) a.getSync(k);
    assert.deepEqual(
      a
        .hotKeys(3)
        .map((h) => h.key)
        .sort(),
      ['k11', 'k3', 'k7'],
    );
    await a.close();
    const b = await make({ disk: path, hotKeys: { sampleEvery: 1, capacity: 4 } });
    assert.equal(b.getSync('k3'), 3, 'warm before the first request');
    assert.equal(b.getSync('k7'), 7);
    assert.equal(b.getSync('k11'), 11);
    assert.equal(b.getSync('k5'), undefined, 'cold keys stay on disk');
    assert.equal(b.stats().hot!.warmed, 3);
  });

  it('warms keys matching configured patterns', async () => {
    const prefix = uniquePrefix('warm');
    const seed = await make({ redis: prefix });
    await seed.setMany([
      { key: 'config:a', value: 'A' },
      { key: 'config:b', value: 'B' },
      { key: 'other', value: 'O' },
    ]);
    await seed.namespace('tenant').set('config:c', 'C');
    const c = await make({ redis: prefix, warm: { patterns: [{ pattern: 'config:*' }, { pattern: 'config:*', namespace: 'tenant' }] } });
    assert.deepEqual([c.getSync('config:a'), c.getSync('config:b'), c.getSync('other'), c.namespace('tenant').getSync('config:c')], ['A', 'B', undefined, 'C']);
  });

  it('prefetches related keys when a key matching a rule is loaded', async () => {
    const prefix = uniquePrefix('prefetch');
    const seed = await make({ redis: prefix });
    await seed.setMany([
      { key: 'user:1', value: 'u1' },
      { key: 'user:1:prefs', value: 'p1' },
      { key: 'user:1:avatar', value: 'a1' },
    ]);
    const c = await make({ redis: prefix, prefetch: [{ when: 'user:*', fetch: ['user:$1:prefs', 'user:$1:avatar', 'user:$1:missing'] }] });
    assert.equal(await c.get('user:1'), 'u1');
    for (let i = 0; i < 50 && c.getSync('user:1:avatar') === undefined; i++) await sleep(5);
    assert.equal(c.getSync('user:1:prefs'), 'p1');
    assert.equal(c.getSync('user:1:avatar'), 'a1');
    assert.equal(c.stats().hot!.prefetched, 2);
  });

  it('shrinks L1 for the memory monitor and restores it', async () => {
    const c = await make({ l1: { maxItems: 1_000 } });
    for (let i = 0; i < 400; i++) await c.set(`k${i}`, 'x'.repeat(100));
    const before = c.stats().l1!;
    const r = c.shrinkL1(0.1);
    const s = c.stats().l1!;
    assert.equal(s.items, 100);
    assert.equal(r.evicted, 300);
    assert.ok(s.bytes < before.bytes / 3);
    assert.equal(s.effectiveMaxItems, 100);
    assert.equal(c.getSync('k399'), 'x'.repeat(100), 'the most recent stay');
    c.restoreL1();
    assert.equal(c.stats().l1!.effectiveMaxItems, 1_000);
    assert.throws(() => c.shrinkL1(2), code('CACHE_OPTIONS_INVALID'));
  });

  it('reports hits and misses per layer, the hit rate, bytes and latency to the registry', async () => {
    const metrics = createMetricsRegistry();
    const prefix = uniquePrefix('metrics');
    const c = await make({ name: 'metered', redis: prefix, disk: true, metrics });
    await c.set('a', 1);
    for (let i = 0; i < 9; i++) await c.get('a');
    await c.get('nope');
    const s = c.stats();
    assert.equal(s.l1!.hits, 9);
    assert.equal(s.l2!.misses, 1);
    assert.equal(s.hitRate, 0.9);
    const text = metrics.exposition();
    assert.match(text, /code_cache_hits_total\{cache="metered",layer="l1"\} 9/);
    assert.match(text, /code_cache_misses_total\{cache="metered",layer="l2"\} 1/);
    assert.match(text, /code_cache_hit_ratio\{cache="metered"\} 0\.9/);
    assert.match(text, /code_cache_bytes\{cache="metered",layer="l1"\} \d+/);
    assert.match(text, /code_cache_l2_available\{cache="metered"\} 1/);
    assert.match(text, /code_cache_op_duration_seconds_count\{cache="metered",layer="l2",op="get"\} 1/);
    assert.match(text, /code_breaker_state\{breaker="cache-l2-metered"\} 0/);
  });
});
