// Two real processes sharing the real Redis: invalidations cross the process boundary, and the lease
// runs a factory once for 100 callers spread over both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { REDIS_URL, dropPrefix, uniquePrefix } from './helpers/redis.js';
import { CacheWorker } from './helpers/spawn.js';

const prefix = uniquePrefix('multi');
const counterKey = `${prefix}factory-runs`;
const raw = new Redis(REDIS_URL);
let a: CacheWorker;
let b: CacheWorker;

before(async () => {
  [a, b] = await Promise.all([CacheWorker.spawn({ url: REDIS_URL, prefix, counterKey }), CacheWorker.spawn({ url: REDIS_URL, prefix, counterKey })]);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  raw.disconnect();
  await dropPrefix(prefix);
});

describe('tiered cache across two processes', () => {
  it('runs the factory exactly once for 100 concurrent callers over 2 processes', async () => {
    await Promise.all([a.call('arm', { key: 'stampede', n: 50, factoryMs: 150 }), b.call('arm', { key: 'stampede', n: 50, factoryMs: 150 })]);
    type Go = { values: string[]; localRuns: number; stats: { factory: { leaseWaits: number } } };
    const [ra, rb] = await Promise.all([a.call<Go>('go'), b.call<Go>('go')]);
    assert.equal(Number(await raw.get(counterKey)), 1, 'one factory run across the cluster');
    assert.equal(ra.localRuns + rb.localRuns, 1);
    const all = [...ra.values, ...rb.values];
    assert.equal(all.length, 100);
    assert.equal(new Set(all).size, 1, 'every caller got the one value');
    assert.equal(ra.stats.factory.leaseWaits + rb.stats.factory.leaseWaits, 1, 'the other process waited on the lease instead of running');
  });

  it('evicts the other process’s L1 copy within 50 ms after set, delete and tag deletion', async (t) => {
    const latencies: number[] = [];
    // Latency: from the moment the writer's call is done (on its side, so the test's IPC hop to the
    // writer is not counted) to the moment the other process's L1 no longer holds the key.
    const round = async (change: () => Promise<number>, key: string, expected: unknown): Promise<void> => {
      // B reads until it holds the current value in L1 (the bus message of the write that made it
      // may arrive after B's first read: it leaves a copy of that same write alone, an older one not).
      for (let i = 0; i < 100; i++) {
        if ((await b.call('get', { key })) === expected && (await b.call('peek', { key })) === expected) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(await b.call('peek', { key }), expected, 'B holds the current value in L1');
      const evicted = b.call<number>('watch', { key });
      const done = await change();
      latencies.push(Math.max(0, (await evicted) - done));
    };
    for (let i = 0; i < 3; i++) {
      await a.call('set', { key: 'inv', value: i, options: { tags: ['grp'] } });
      await round(() => a.call<number>('set', { key: 'inv', value: i + 100 }), 'inv', i);
      assert.equal(await b.call('get', { key: 'inv' }), i + 100, 'B reads the new value after eviction');
    }
    await a.call('set', { key: 'del', value: 1 });
    await round(() => a.call<number>('delete', { key: 'del' }), 'del', 1);
    assert.equal(await b.call('get', { key: 'del' }), null);
    await a.call('set', { key: 'tagged', value: 1, options: { tags: ['grp'] } });
    await round(() => a.call<number>('deleteByTag', { tag: 'grp' }), 'tagged', 1);
    assert.equal(await b.call('get', { key: 'tagged' }), null);
    t.diagnostic(`eviction latency ms: ${latencies.join(', ')}`);
    for (const ms of latencies) assert.ok(ms < 50, `eviction took ${ms} ms (all: ${latencies.join(', ')})`);
  });
});
