import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DiskLayer } from '../../../src/platform/cache/disk.js';
import { isCacheError } from '../../../src/platform/cache/errors.js';
import { RedisLayer } from '../../../src/platform/cache/redis.js';
import { layerContract } from './layer-contract.js';
import { REDIS_URL, dropPrefix, uniquePrefix } from './helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'cache-layers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

layerContract('RedisLayer (real Redis)', async () => {
  const prefix = uniquePrefix('layer');
  const layer = new RedisLayer({ url: REDIS_URL, prefix, commandTimeoutMs: 2000, connectTimeoutMs: 2000, maxReconnectDelayMs: 500 });
  assert.equal(await layer.waitReady(3000), true, `Redis must be reachable at ${REDIS_URL}`);
  return {
    layer,
    dispose: async () => {
      await layer.close();
      await dropPrefix(prefix);
    },
  };
});

layerContract('DiskLayer (SQLite file)', async () => {
  const layer = new DiskLayer({ path: join(dir, `contract-${n++}.db`), maxBytes: 1 << 20, maxItems: 10_000 });
  return { layer, dispose: () => layer.close() };
});

describe('RedisLayer leases', () => {
  it('grants one lease with an increasing fencing token; only its holder may write', async () => {
    const prefix = uniquePrefix('lease');
    const l = new RedisLayer({ url: REDIS_URL, prefix, commandTimeoutMs: 2000, connectTimeoutMs: 2000, maxReconnectDelayMs: 500 });
    try {
      await l.waitReady(3000);
      const first = await l.acquire('k', 5_000, undefined);
      assert.equal(first.kind, 'acquired');
      const second = await l.acquire('k', 5_000, undefined);
      assert.equal(second.kind, 'held');
      assert.ok(second.kind === 'held' && second.pttl > 0 && second.pttl <= 5_000);
      const token = first.kind === 'acquired' ? first.token : -1;
      assert.equal(await l.fencedSet('k', token + 1000, Buffer.from('forged'), 60_000, undefined), false, 'a wrong token must not write');
      assert.equal(await l.get('k'), undefined);
      assert.equal(await l.fencedSet('k', token, Buffer.from('\x10real-value-with-header'), 60_000, ['tag']), true);
      assert.equal(await l.leaseTtl('k'), -2, 'the write releases the lease');
      const third = await l.acquire('k', 5_000, undefined);
      assert.equal(third.kind, 'value', 'once written, acquire returns the value');
      // A lease that expired and was taken by someone else: the old holder's write is refused.
      const a = await l.acquire('k2', 50, undefined);
      await new Promise((r) => setTimeout(r, 80));
      const b = await l.acquire('k2', 5_000, undefined);
      assert.ok(a.kind === 'acquired' && b.kind === 'acquired' && b.token > a.token, 'tokens increase');
      assert.equal(await l.fencedSet('k2', a.kind === 'acquired' ? a.token : 0, Buffer.from('late'), 60_000, undefined), false);
      await l.release('k2', b.kind === 'acquired' ? b.token : 0);
      assert.equal(await l.leaseTtl('k2'), -2);
    } finally {
      await l.close();
      await dropPrefix(prefix);
    }
  });
});

describe('DiskLayer', () => {
  it('stays within its byte bound, evicting the least recently read', async () => {
    const layer = new DiskLayer({ path: join(dir, 'bound.db'), maxBytes: 10_000, maxItems: 1_000 });
    try {
      const payload = Buffer.alloc(1_000, 7);
      for (let i = 0; i < 30; i++) {
        await layer.set(`k${i}`, payload, 60_000, undefined);
        layer.flush();
        // keep k0 recently read: it must survive eviction
        if (i % 3 === 0) layer.getSync('k0');
      }
      layer.flush();
      const s = layer.stats();
      assert.ok(s.bytes <= 10_000, `bytes ${s.bytes} within bound`);
      assert.ok(s.evictions >= 20, `evicted ${s.evictions}`);
      assert.ok(layer.getSync('k0') !== undefined, 'the recently read entry stays');
      assert.equal(layer.getSync('k1'), undefined, 'an old unread entry went');
    } finally {
      await layer.close();
    }
  });

  it('keeps its entries across a close and reopen', async () => {
    const path = join(dir, 'restart.db');
    const a = new DiskLayer({ path, maxBytes: 1 << 20, maxItems: 100 });
    await a.set('persist', Buffer.from('still here'), 60_000, ['t']);
    await a.close();
    const b = new DiskLayer({ path, maxBytes: 1 << 20, maxItems: 100 });
    try {
      assert.deepEqual(b.getSync('persist'), Buffer.from('still here'));
      assert.equal(b.stats().items, 1);
      await b.deleteByTags(['t']);
      assert.equal(b.getSync('persist'), undefined, 'tags survive the restart too');
    } finally {
      await b.close();
    }
  });

  it('moves a damaged file aside and starts empty', async () => {
    const path = join(dir, 'damaged.db');
    writeFileSync(path, 'this is not a database, just text that is long enough to look like a header.'.repeat(20));
    const warnings: string[] = [];
    const layer = new DiskLayer({ path, maxBytes: 1 << 20, maxItems: 100, onWarning: (m) => warnings.push(m) });
    try {
      await layer.set('k', Buffer.from('v'), 60_000, undefined);
      assert.deepEqual(layer.getSync('k'), Buffer.from('v'));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /damaged/);
      assert.ok(readdirSync(dir).some((f) => f.startsWith('damaged.db.corrupt-')));
    } finally {
      await layer.close();
    }
  });

  it('refuses a path it cannot create with CACHE_L3_UNAVAILABLE', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    assert.throws(
      () => new DiskLayer({ path: join(blocker, 'sub', 'cache.db'), maxBytes: 1 << 20, maxItems: 10 }),
      (err: unknown) => isCacheError(err, 'CACHE_L3_UNAVAILABLE') && /a-file/.test((err as Error).message),
    );
    assert.ok(existsSync(blocker));
  });
});
