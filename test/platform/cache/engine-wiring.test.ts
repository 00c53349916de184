// The cache as the engine builds it (src/runtime/engine.ts, config section `cache`): embedded L1 + L3
// under data.dir, L2 when REDIS_URL is set, its flags, KPI, memory responder and live config keys.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { REDIS_URL, dropPrefix, uniquePrefix } from './helpers/redis.js';

const work = tempWorkdir('cache-engine-');
after(() => work.cleanup());

describe('engine.cache', () => {
  it('is L1 + L3 under data.dir by default, and keeps L3 across an engine restart', async () => {
    const env = { CODE_CACHE_TTL_MS: '120000', CODE_CACHE_L1_MAX_ITEMS: '500' };
    const a = await testEngine(work.dir, { env });
    try {
      const s = a.cache.stats();
      assert.ok(s.l1 && s.l3, 'L1 and L3 are on');
      assert.equal(s.l2, undefined, 'no L2 without a Redis URL');
      assert.equal(s.l1.maxItems, 500, 'config keys reach the cache (CODE_CACHE_L1_MAX_ITEMS)');
      assert.ok(existsSync(join(work.dir, 'data', 'cache.db')), 'the L3 file lives under data.dir');
      for (const name of ['cache.l2', 'cache.compression']) assert.ok(a.flags.list().some((f) => f.name === name), `flag ${name} is registered`);
      assert.ok(a.observability.monitor.kpis.get('cache.hit_rate'), 'the hit-rate KPI is registered');
      await a.cache.set('kept', { across: 'restarts' });
      // The memory monitor's cache responder reaches the cache.
      a.memory.caches.targets.forEach((t) => t.shrink(0.1));
      assert.equal(a.cache.stats().l1!.effectiveMaxItems, 50);
      a.memory.caches.targets.forEach((t) => t.restore());
      assert.equal(a.cache.stats().l1!.effectiveMaxItems, 500);
    } finally {
      await a.close();
    }
    assert.equal(a.cache.isClosed, true, 'engine.close() closes the cache');
    const b = await testEngine(work.dir, { env });
    try {
      assert.deepEqual(await b.cache.get('kept'), { across: 'restarts' });
    } finally {
      await b.close();
    }
  });

  it('adds Redis as L2 when REDIS_URL is set', async () => {
    const prefix = uniquePrefix('engine');
    const e = await testEngine(work.dir, { env: { REDIS_URL, CODE_CACHE_L2_PREFIX: prefix } });
    const raw = new Redis(REDIS_URL);
    try {
      assert.equal(e.cache.stats().l2?.connected, true);
      await e.cache.set('via-engine', 1);
      assert.equal(await raw.exists(`${prefix}v:via-engine`), 1);
      await e.flags.set('cache.l2', false, 'test');
      await e.cache.set('flag-off', 2);
      assert.equal(await raw.exists(`${prefix}v:flag-off`), 0, 'the cache.l2 flag turns Redis off');
      await e.flags.set('cache.l2', true, 'test');
      for (let i = 0; i < 100 && (await raw.exists(`${prefix}v:flag-off`)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await raw.exists(`${prefix}v:flag-off`), 1, 'and back on, the write made meanwhile is replayed');
    } finally {
      raw.disconnect();
      await e.close();
      await dropPrefix(prefix);
    }
  });
});
