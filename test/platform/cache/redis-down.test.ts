// Redis (L2) stopped and restarted under load: no caller sees an error, the breaker and the metrics
// show the outage, L2 comes back by itself, and writes made meanwhile reach Redis afterwards.
// A private redis-server on a free port is killed; the machine's Redis is never touched.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createCache } from '../../../src/platform/cache/index.js';
import type { TieredCache } from '../../../src/platform/cache/index.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { PrivateRedis } from './helpers/redis.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'cache-down-'));
let redis: PrivateRedis;

before(async () => {
  redis = await PrivateRedis.start();
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('tiered cache: Redis down and back', () => {
  it('keeps serving from L1/L3 without caller errors, shows it, and recovers by itself', async (t) => {
    const metrics = createMetricsRegistry();
    const warnings: string[] = [];
    const common = {
      l2: { url: redis.url, prefix: 'down:', commandTimeoutMs: 300, maxReconnectDelayMs: 100, breakerOpenMs: 300 },
      onWarning: (m: string) => warnings.push(m),
      hardTimeoutMs: 2_000,
    };
    const a: TieredCache = await createCache({ name: 'a', ...common, l3: { path: join(dir, 'a.db') }, metrics });
    const b: TieredCache = await createCache({ name: 'b', ...common, l3: { path: join(dir, 'b.db') } });
    const errors: unknown[] = [];
    let ops = 0;
    let stop = false;
    let phase = 'up';
    const setDuring = new Set<string>();

    // Callers hammering both instances through every kind of call.
    const worker = async (id: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `k${(id * 7 + i) % 40}`;
        try {
          switch (i % 6) {
            case 0: {
              const k = `w${id}-${i}`;
              if (i % 12 === 0) await a.set(k, { id, i }, { tags: [`t${id % 3}`] });
              else {
                await a.set(k, { id, i }); // untagged: no tag deletion takes these away
                if (phase === 'down') setDuring.add(k);
              }
              break;
            }
            case 1:
              await a.get(key);
              break;
            case 2:
              await a.getOrSet(key, async () => (await sleep(1), `v-${key}`), { ttl: 200, grace: 5_000 });
              break;
            case 3:
              await b.getMany([key, `${key}x`, 'k1']);
              break;
            case 4:
              await b.getOrSet(key, () => `v-${key}`, { ttl: 200 });
              break;
            default:
              if (i % 60 === 5) await a.deleteByTag(`t${(id + 1) % 3}`);
              else await b.delete(`${key}x`);
          }
        } catch (err) {
          errors.push(err);
        }
        ops++;
        if (i % 20 === 0) await sleep(1);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, id) => worker(id)));
    const raw = new Redis(redis.url, { lazyConnect: true });
    raw.on('error', () => undefined);
    try {
      await sleep(300);
      const opsUp = ops;
      assert.equal(a.l2Available(), true);

      // ---- Redis goes away --------------------------------------------------------------------------
      await redis.down();
      // Writes that reached the old server just before the kill were lost with it (no persistence): a
      // cache may lose those. Track only writes made once the outage is certain.
      await sleep(50);
      phase = 'down';
      await sleep(750);
      const sa = a.stats();
      assert.equal(a.l2Available(), false, 'L2 reported unavailable');
      assert.equal(sa.l2!.connected, false);
      assert.ok(sa.l2!.skipped + sa.l2!.errors > 0, 'L2 calls were skipped or failed, not passed on');
      assert.ok(warnings.some((w) => /connection lost/.test(w)), 'the outage was reported');
      const text = metrics.exposition();
      assert.match(text, /code_cache_l2_available\{cache="a"\} 0/);
      assert.match(text, /code_cache_l2_(skipped|errors)_total\{cache="a"\} [1-9]/);
      assert.match(text, /code_breaker_transitions_total\{breaker="cache-l2-a",to="open"\} [1-9]/, 'the L2 breaker opened');
      assert.notEqual(sa.l2!.breaker, 'closed');
      assert.ok(ops > opsUp + 100, `callers kept going while Redis was down (${ops - opsUp} ops)`);
      const during = [...setDuring].slice(0, 20);
      assert.ok(during.length > 0);
      for (const k of during) assert.notEqual(await a.get(k), undefined, `${k}, written during the outage, is served from L1/L3`);
      assert.ok(sa.l2!.dirty > 0, 'writes made during the outage are remembered');

      // ---- Redis comes back (empty: it had no persistence) -----------------------------------------
      phase = 'back';
      await redis.up();
      const deadline = Date.now() + 8_000;
      while (!(a.l2Available() && b.l2Available()) && Date.now() < deadline) await sleep(20);
      assert.equal(a.l2Available(), true, 'L2 came back by itself');
      assert.equal(b.l2Available(), true);
      await sleep(300);
      stop = true;
      await load;
      t.diagnostic(`ops: ${ops}, caller errors: ${errors.length}`);
      assert.deepEqual(
        errors.map((e) => String((e as Error).message ?? e)),
        [],
        'no caller saw an error',
      );

      await raw.connect();
      const replayed = await raw.exists(...during.map((k) => `down:v:${k}`));
      const sa2 = a.stats();
      t.diagnostic(`replayed ${replayed}/${during.length}; replays ${sa2.l2!.replays}; dirty left ${sa2.l2!.dirty}`);
      assert.equal(replayed, during.length, 'writes made during the outage reached Redis');
      assert.ok(sa2.l2!.replays >= 1);
      await a.set('after', 'ok');
      assert.equal(await raw.exists('down:v:after'), 1, 'new writes reach Redis again');
      assert.ok(b.stats().bus!.reconnects >= 1, 'the bus noticed the reconnect');
      assert.ok(b.stats().l1!.drops >= 1, 'and dropped L1, since messages may have been missed');
      assert.equal(await b.get('after'), 'ok');
    } finally {
      stop = true;
      await load;
      raw.disconnect();
      await a.close();
      await b.close();
    }
  });
  it('treats a hung Redis (SIGSTOP) as down: calls return within the stall timeout, no errors', async () => {
    const c = await createCache({
      name: 'hung',
      l2: { url: redis.url, prefix: 'hung:', commandTimeoutMs: 300, maxReconnectDelayMs: 100, connectTimeoutMs: 300, breakerOpenMs: 200 },
      l3: { path: join(dir, 'hung.db') },
      onWarning: () => undefined,
    });
    try {
      await c.set('k', 'before');
      redis.pause();
      const started = performance.now();
      // L1 answers at once; L2 reads and writes hang until the watchdog drops the connection.
      assert.equal(await c.get('k'), 'before');
      await c.set('during', 'x');
      assert.equal(await c.get('absent'), undefined);
      const took = performance.now() - started;
      assert.ok(took < 2_000, `calls against a hung Redis came back after ${Math.round(took)} ms`);
      assert.equal(c.getSync('during'), 'x');
      const s = c.stats();
      assert.ok(s.l2!.errors + s.l2!.skipped >= 1, 'the hang was counted');
      redis.resume();
      const deadline = Date.now() + 8_000;
      while (!c.l2Available() && Date.now() < deadline) await sleep(20);
      assert.equal(c.l2Available(), true, 'back after SIGCONT');
      for (let i = 0; i < 50 && c.stats().l2!.dirty > 0; i++) await sleep(20);
      const raw = new Redis(redis.url);
      try {
        assert.equal(await raw.exists('hung:v:during'), 1, 'the write made during the hang was replayed');
      } finally {
        raw.disconnect();
      }
    } finally {
      redis.resume();
      await c.close();
    }
  });
});
