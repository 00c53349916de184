/**
 * The control of pressure.test.ts: the same child, the same load, the monitor off. It must die of
 * "heap out of memory", or the shedding test proves nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, startChild } from './_child/harness.js';
import { HEAP_MB, LOAD, MEMORY, load } from './_child/load.js';

test('control: the same load without the monitor kills the process (heap out of memory)', async (t) => {
  const child = await startChild({ heapMb: HEAP_MB, exposeGc: true, memory: { ...MEMORY, enabled: false } });
  t.after(() => child.stop());
  // The same goal as the monitored run: asked to keep twice its heap.
  const r = await load(child, 24, (x) => (x.ok * LOAD.keepKb) / 1024 > 2 * HEAP_MB, 60_000);
  const exit = await Promise.race([child.exited, sleep(5000).then(() => null)]);
  assert.ok(r.ok > 0, 'the child served requests before dying');
  assert.ok(exit, 'the unmonitored child survived: the load is not heavy enough to prove anything');
  assert.match(child.stderr(), /heap out of memory|Reached heap limit/);
});
