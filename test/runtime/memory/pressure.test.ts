/**
 * Real memory pressure: a real engine server in a child with a 160 MiB old space, loaded through a
 * route (test-only) that holds 1 MiB per request for 200 ms and keeps 512 KiB per request in an L1-like
 * cache of 400 entries (200 MiB: more than the heap). With the monitor it shrinks the cache, runs the
 * GC, sheds with 503 + Retry-After and stays alive; without it, the same load kills it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryEvent } from '../../../src/platform/memory/types.js';
import { getJson, post, sleep, startChild } from './_child/harness.js';
import { HEAP_MB, LOAD, MEMORY, load } from './_child/load.js';

const kinds = (events: Array<{ event: MemoryEvent }>): string[] =>
  events.map(({ event: e }) => (e.type === 'level' ? `level:${e.to}` : e.type === 'action' ? `${e.responder}:${e.action}` : e.type === 'alert' ? `${e.name}:${e.state}` : e.type === 'trim' ? 'trim' : `error:${e.source}`));

test('under real pressure the engine sheds with 503 + Retry-After instead of dying, and recovers', async (t) => {
  const child = await startChild({ heapMb: HEAP_MB, exposeGc: true, memory: MEMORY });
  t.after(() => child.stop());

  // Until the process was asked to keep twice its heap and has shed a few dozen requests.
  const loadStart = Date.now();
  const r = await load(child, 24, (x) => (x.ok * LOAD.keepKb) / 1024 > 2 * HEAP_MB && x.shed >= 20, 60_000);
  t.diagnostic(`load ${Date.now() - loadStart} ms: ${r.ok} ok, ${r.shed} shed, /health ${r.healthOk} ok`);
  assert.equal(child.proc.exitCode ?? child.proc.signalCode, null, `the child died; events ${kinds(child.events).slice(-30).join(' ')}; ${child.stderr().slice(-1500)}`);
  assert.equal(child.proc.signalCode, null);
  const seen = kinds(child.events);
  assert.ok(r.shed > 0, `no request was shed: ${JSON.stringify({ ...r, retryAfter: [...r.retryAfter] })}; events ${seen.join(' ')}`);
  assert.ok(r.ok > 0);
  assert.equal(r.other, 0, 'every request got 200 or 503');
  assert.deepEqual([...r.retryAfter], ['2']);
  assert.deepEqual([...r.codes], ['SERVER_OVERLOADED']);
  assert.equal(r.healthBad, 0, '/health answered 200 throughout');
  // Retained bytes asked of the process: far more than its heap.
  const askedMb = ((r.ok + r.shed) * LOAD.keepKb) / 1024;
  assert.ok(askedMb > HEAP_MB, `asked ${askedMb} MiB`);
  for (const k of ['cache.shrink:apply', 'gc:apply', 'shed:apply']) assert.ok(seen.includes(k), `${k} not in ${seen.join(' ')}`);
  assert.ok(seen.includes('level:high') || seen.includes('level:critical'), seen.join(' '));

  // Load stops: shedding ends and the level falls back, responders undone newest first. Up to 45 s:
  // the heap ratio counts committed old space, which V8 gives back lazily after the garbage is gone.
  // What the half-size cache still legitimately holds may keep the level at moderate (cache shrink
  // engaged) on the hysteresis edge; anything above that must be gone.
  const settled = (s: { level: string; engaged: string[] }): boolean => s.level === 'normal' && s.engaged.length === 0;
  let state = (await getJson<{ level: string; engaged: string[] }>(`${child.url}/test/state`)).body;
  for (let i = 0; i < 225 && !settled(state); i++) {
    await sleep(200);
    state = (await getJson<{ level: string; engaged: string[] }>(`${child.url}/test/state`)).body;
  }
  t.diagnostic(`recovered to ${state.level} (${state.engaged.join(', ') || 'nothing engaged'}) ${Date.now() - loadStart} ms after the load began`);
  assert.ok(settled(state) || (state.level === 'moderate' && state.engaged.every((r) => r === 'cache.shrink')), JSON.stringify(state));
  // Over the whole run, every undo took the newest engaged responder (GC has nothing to undo).
  const stack: string[] = [];
  let undos = 0;
  for (const { event: e } of child.events) {
    if (e.type !== 'action' || e.responder === 'gc') continue;
    if (e.action === 'apply') stack.push(e.responder);
    if (e.action === 'undo') {
      undos++;
      assert.equal(e.responder, stack.pop(), `undo out of order: ${kinds(child.events).join(' ')}`);
    }
  }
  assert.ok(stack.every((r) => r === 'cache.shrink'), `only the cache shrink may still be engaged: ${stack.join(', ')}`);
  assert.ok(undos >= 3);
  const after = await post(`${child.url}/test/alloc`, LOAD);
  assert.equal(after.status, 200, 'served again once pressure is gone');
});
