import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { batch, batchStream, isNetError } from '../../../src/platform/net/index.js';

describe('batch', () => {
  it('returns settled results in input order with bounded concurrency', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 40 }, (_, i) => i);
    const results = await batch(
      items,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await delay((i * 7) % 13); // finishing order differs from input order
        running--;
        if (i % 10 === 3) throw new Error(`item ${i} failed`);
        return i * i;
      },
      { concurrency: 5 },
    );
    assert.equal(peak, 5);
    assert.equal(results.length, 40);
    results.forEach((r, i) => {
      if (i % 10 === 3) assert.deepEqual(r.ok ? 'ok' : (r.error as Error).message, `item ${i} failed`);
      else assert.deepEqual(r, { ok: true, value: i * i });
    });
  });

  it('turns a synchronous throw into an error result and accepts sync values', async () => {
    const results = await batch([1, 2, 3], (i) => {
      if (i === 2) throw new Error('sync');
      return i;
    });
    assert.deepEqual(results[0], { ok: true, value: 1 });
    assert.equal(results[1]!.ok, false);
    assert.deepEqual(results[2], { ok: true, value: 3 });
  });

  it('times out one item with NET_BATCH_ITEM_TIMEOUT, aborting its signal, without holding the others', async () => {
    let abortedReason: unknown;
    const results = await batch(
      ['slow', 'fast', 'deaf'],
      async (kind, { signal }) => {
        if (kind === 'fast') return 'done';
        if (kind === 'slow') {
          await new Promise((_, reject) => signal.addEventListener('abort', () => {
            abortedReason = signal.reason;
            reject(signal.reason);
          }));
        }
        return new Promise(() => {}); // 'deaf' ignores its signal: the timeout still settles it
      },
      { concurrency: 3, itemTimeoutMs: 30 },
    );
    assert.ok(!results[0]!.ok && isNetError(results[0]!.error, 'NET_BATCH_ITEM_TIMEOUT'));
    assert.ok(isNetError(abortedReason, 'NET_BATCH_ITEM_TIMEOUT'));
    assert.deepEqual(results[1], { ok: true, value: 'done' });
    assert.ok(!results[2]!.ok && isNetError(results[2]!.error, 'NET_BATCH_ITEM_TIMEOUT'));
  });

  it('on abort cancels what runs, starts nothing more and reports the rest as NET_BATCH_CANCELLED', async () => {
    const ac = new AbortController();
    const started: number[] = [];
    const sawAbort: number[] = [];
    const p = batch(
      Array.from({ length: 20 }, (_, i) => i),
      async (i, { signal }) => {
        started.push(i);
        if (i < 2) return i;
        signal.addEventListener('abort', () => sawAbort.push(i));
        return new Promise(() => {});
      },
      { concurrency: 3, signal: ac.signal },
    );
    await delay(20);
    ac.abort(new Error('user cancelled'));
    const results = await p;
    assert.equal(results.length, 20);
    assert.deepEqual(results[0], { ok: true, value: 0 });
    assert.deepEqual(results[1], { ok: true, value: 1 });
    for (const r of results.slice(2)) assert.ok(!r.ok && isNetError(r.error, 'NET_BATCH_CANCELLED'));
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.deepEqual(sawAbort.sort(), [2, 3, 4]);
  });

  it('rejects bad options clearly', async () => {
    await assert.rejects(batch([1], (x) => x, { concurrency: 0 }), (e: unknown) => isNetError(e, 'NET_OPTIONS_INVALID') && /concurrency/.test((e as Error).message));
    await assert.rejects(batch([1], (x) => x, { itemTimeoutMs: -1 }), /itemTimeoutMs/);
    await assert.rejects(batch([1], (x) => x, { concurrency: 4, window: 2 }), /window/);
  });
});

describe('batchStream', () => {
  it('pulls lazily from an async iterable and closes it when the consumer stops early', async () => {
    let pulled = 0;
    let closed = false;
    const source = (async function* () {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    })();
    const seen: number[] = [];
    for await (const r of batchStream(source, async (i) => i, { concurrency: 4, window: 8 })) {
      seen.push(r.index);
      if (seen.length === 10) break;
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(pulled <= 10 + 8, `pulled ${pulled} items for 10 results with a window of 8`);
    assert.equal(closed, true);
  });

  it('keeps memory flat over 1,000,000 items: never more than `window` items in hand', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./fixtures/batch-million.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { yielded: number; sum: number; ordered: boolean; maxInHand: number; window: number; growthMb: number };
    const N = 1_000_000;
    assert.equal(r.yielded, N);
    assert.equal(r.sum, (N * (N + 1)) / 2, 'every item once');
    assert.equal(r.ordered, true, 'results in input order');
    assert.ok(r.maxInHand <= r.window, `held ${r.maxInHand} items, window is ${r.window}`);
    // A leak of even 20 bytes per item would add 18 MB between the 100k and the 1M checkpoints.
    assert.ok(r.growthMb < 8, `heap grew ${r.growthMb.toFixed(1)} MB from 100k to 1M items`);
  });
});
