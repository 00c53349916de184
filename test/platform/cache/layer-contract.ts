// The contract every byte layer (L2 Redis, L3 disk) must honour, run by layers.test.ts against each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ByteLayer } from '../../../src/platform/cache/layer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const b = (s: string): Buffer => Buffer.from(s);

export function layerContract(name: string, make: () => Promise<{ layer: ByteLayer; dispose: () => Promise<void> }>): void {
  describe(`ByteLayer contract: ${name}`, () => {
    const withLayer = (fn: (layer: ByteLayer) => Promise<void>) => async () => {
      const { layer, dispose } = await make();
      try {
        await fn(layer);
      } finally {
        await dispose();
      }
    };

    it(
      'returns what was set, undefined for what was not',
      withLayer(async (l) => {
        assert.equal(await l.get('nope'), undefined);
        await l.set('k1', b('one'), Infinity, undefined);
        assert.deepEqual(await l.get('k1'), b('one'));
        await l.set('k1', b('uno'), Infinity, undefined);
        assert.deepEqual(await l.get('k1'), b('uno'));
        const bin = Buffer.from([0, 255, 1, 254, 0x1f, 0]);
        await l.set('bin\x1fkey', bin, 60_000, undefined);
        assert.deepEqual(await l.get('bin\x1fkey'), bin);
      }),
    );

    it(
      'forgets an entry once its ttl has passed',
      withLayer(async (l) => {
        await l.set('short', b('x'), 40, undefined);
        await l.set('long', b('y'), 60_000, undefined);
        assert.deepEqual(await l.get('short'), b('x'));
        await sleep(120);
        assert.equal(await l.get('short'), undefined);
        assert.deepEqual(await l.get('long'), b('y'));
      }),
    );

    it(
      'getMany answers in order, undefined for the missing',
      withLayer(async (l) => {
        await l.setMany([
          { key: 'a', payload: b('A'), ttlMs: 60_000, tags: undefined },
          { key: 'c', payload: b('C'), ttlMs: 60_000, tags: ['t'] },
        ]);
        assert.deepEqual(await l.getMany(['a', 'b', 'c', 'a']), [b('A'), undefined, b('C'), b('A')]);
        assert.deepEqual(await l.getMany([]), []);
      }),
    );

    it(
      'deletes keys, and keys by tag, leaving the rest',
      withLayer(async (l) => {
        await l.set('p1', b('1'), 60_000, ['red', 'big']);
        await l.set('p2', b('2'), 60_000, ['red']);
        await l.set('p3', b('3'), 60_000, ['blue']);
        await l.set('p4', b('4'), 60_000, undefined);
        await l.delete(['p4', 'never-there']);
        assert.equal(await l.get('p4'), undefined);
        await l.deleteByTags(['red']);
        assert.deepEqual(await l.getMany(['p1', 'p2', 'p3']), [undefined, undefined, b('3')]);
        await l.deleteByTags(['big', 'unknown']);
        await l.deleteByTags(['blue']);
        assert.equal(await l.get('p3'), undefined);
      }),
    );

    it(
      'clears by prefix, or everything',
      withLayer(async (l) => {
        await l.set('ns\x1fa', b('1'), 60_000, ['ns\x1ft']);
        await l.set('ns\x1fsub\x1fb', b('2'), 60_000, undefined);
        await l.set('other', b('3'), 60_000, undefined);
        await l.clear('ns\x1f');
        assert.deepEqual(await l.getMany(['ns\x1fa', 'ns\x1fsub\x1fb', 'other']), [undefined, undefined, b('3')]);
        await l.clear('');
        assert.equal(await l.get('other'), undefined);
      }),
    );

    it(
      'scans keys by prefix and glob, bounded',
      withLayer(async (l) => {
        for (let i = 0; i < 5; i++) await l.set(`user:${i}:profile`, b(String(i)), 60_000, undefined);
        await l.set('user:9:other', b('9'), 60_000, undefined);
        await l.set('ns\x1fuser:1:profile', b('n'), 60_000, undefined);
        const found = (await l.scan('', 'user:*:profile', 100)).sort();
        assert.deepEqual(found, ['user:0:profile', 'user:1:profile', 'user:2:profile', 'user:3:profile', 'user:4:profile']);
        assert.equal((await l.scan('', 'user:*:profile', 2)).length, 2);
        assert.deepEqual(await l.scan('ns\x1f', 'user:*', 10), ['ns\x1fuser:1:profile']);
      }),
    );

    it(
      'keeps meta blobs',
      withLayer(async (l) => {
        assert.equal(await l.readMeta('hot'), undefined);
        await l.writeMeta('hot', b('list'));
        assert.deepEqual(await l.readMeta('hot'), b('list'));
      }),
    );
  });
}
