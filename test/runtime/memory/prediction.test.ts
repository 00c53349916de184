/**
 * The predictor against a real steady leak: a child engine with a 128 MiB old space leaks 8 MiB/s
 * (a test-only route). Once the heap is past 45% of its limit, the predicted time to the critical
 * level must be within 30% of the time it really takes; the leak detector must report the rate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getJson, post, sleep, startChild } from './_child/harness.js';

interface State {
  level: string;
  ratio: number;
  sampleAt: number;
  timeToCriticalMs: number | null;
  growthMbPerHour: number | null;
  leakSuspected: boolean;
}

const MB_PER_S = 8;

test('predicted time to critical is within 30% of the actual one for a steady leak', async (t) => {
  const child = await startChild({
    heapMb: 128,
    // V8 promotes young objects to the old generation a semi-space at a time: with the default 16 MiB
    // a 128 MiB heap grows in ~12% steps, 1.5 s apart at this rate, and the moment critical arrives is
    // quantised by as much. A 1 MiB semi-space makes old-space growth as steady as the leak.
    semiSpaceMb: 1,
    memory: {
      intervalMs: 100,
      dimensions: ['heap'],
      predictor: { windowMs: 3000, minSamples: 10 },
      leak: { windowMs: 1000, windows: 3, minGrowthMbPerHour: 1000 },
      // Observe only: nothing may slow the leak down before critical.
      caches: { enabled: false },
      gc: { enabled: false },
      concurrency: { enabled: false },
      breakers: { enabled: false },
      shed: { enabled: false },
    },
  });
  t.after(() => child.stop());

  assert.equal((await post(`${child.url}/test/leak`, { mbPerSecond: MB_PER_S })).status, 200);
  let prediction: State | undefined;
  let leak: State | undefined;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !child.events.some(({ event: e }) => e.type === 'level' && e.to === 'critical')) {
    const { body } = await getJson<State>(`${child.url}/test/state`);
    if (!prediction && body.ratio >= 0.45 && body.timeToCriticalMs !== null) prediction = body;
    if (!leak && body.leakSuspected) leak = body;
    await sleep(100);
  }
  const critical = child.events.find(({ event: e }) => e.type === 'level' && e.to === 'critical');
  assert.ok(critical, `never reached critical; events: ${JSON.stringify(child.events.map((e) => e.event)).slice(0, 1000)}`);
  assert.ok(prediction, 'no prediction was made past 45%');
  const actualMs = critical.event.at - prediction.sampleAt;
  const predictedMs = prediction.timeToCriticalMs!;
  const error = Math.abs(predictedMs - actualMs) / actualMs;
  t.diagnostic(`predicted ${Math.round(predictedMs)} ms, actual ${actualMs} ms, error ${(error * 100).toFixed(1)}%`);
  assert.ok(actualMs > 1000, `critical came ${actualMs} ms after the prediction: too soon to judge`);
  assert.ok(error <= 0.3, `predicted ${predictedMs} ms, actual ${actualMs} ms (error ${(error * 100).toFixed(1)}%)`);

  // The warning alert fired before critical (predicted < 5 min all along).
  const soon = child.events.find(({ event: e }) => e.type === 'alert' && e.name === 'memory.critical-soon' && e.state === 'firing');
  assert.ok(soon && soon.event.at <= critical.event.at);

  // The leak detector saw it too, at about the real rate (MiB per hour).
  const leakEvent = child.events.find(({ event: e }) => e.type === 'alert' && e.name === 'memory.leak' && e.state === 'firing');
  assert.ok(leakEvent && leakEvent.event.type === 'alert' && leakEvent.event.name === 'memory.leak', 'no leak alert');
  const rate = MB_PER_S * 3600;
  const growth = leakEvent.event.growthMbPerHour;
  t.diagnostic(`leak growth ${Math.round(growth)} MB/h, real ${rate} MB/h`);
  assert.ok(Math.abs(growth - rate) / rate <= 0.3, `leak growth ${growth} MB/h, real ${rate} MB/h`);
  assert.equal(child.proc.exitCode, null, 'alive at critical: the leak stopped there');
});
