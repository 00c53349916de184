/** The load of the pressure tests: clients on the allocating test route plus a /health probe. */
import { post, sleep, type Child } from './harness.js';

/** Monitor settings for a 100 ms sampling child (cooldowns short enough to recover within a test). */
export const MEMORY = {
  intervalMs: 100,
  dimensions: ['heap'],
  stepDownSamples: 5,
  predictor: { windowMs: 5000, minSamples: 10 },
  // The test cache's capacity (200 MiB) is larger than the heap: half of it at moderate still pushes
  // the process to high (and shedding) under this load; a tenth from high lets it recover.
  caches: { cooldownMs: 1500, moderate: 0.5, high: 0.1, critical: 0.05 },
  gc: { cooldownMs: 500 },
  concurrency: { cooldownMs: 1000 },
  breakers: { cooldownMs: 1000 },
  shed: { cooldownMs: 1000, retryAfterSeconds: 2 },
};
export const LOAD = { kb: 1024, holdMs: 200, keepKb: 512 };
/** Old space of the child, MiB. The test cache holds 400 × 512 KiB = 200 MiB when not shrunk: more than that. */
export const HEAP_MB = 160;

export interface LoadResult {
  ok: number;
  shed: number;
  other: number;
  retryAfter: Set<string>;
  codes: Set<string>;
  healthBad: number;
  healthOk: number;
}

/**
 * `clients` loops POSTing the allocating route, plus a /health probe every 50 ms, until `done(result)`
 * holds, the child exits, or `maxMs` passes. Goals, not durations: a loaded CI machine is just slower.
 */
export async function load(child: Child, clients: number, done: (r: LoadResult) => boolean, maxMs: number): Promise<LoadResult> {
  const r: LoadResult = { ok: 0, shed: 0, other: 0, retryAfter: new Set(), codes: new Set(), healthBad: 0, healthOk: 0 };
  const deadline = Date.now() + maxMs;
  const going = (): boolean => Date.now() < deadline && !done(r) && child.proc.exitCode === null && child.proc.signalCode === null;
  const loop = async (i: number): Promise<void> => {
    await sleep(i * 40); // a ramp, as real traffic has
    while (going()) {
      try {
        const res = await post(`${child.url}/test/alloc`, LOAD);
        if (res.status === 200) r.ok++;
        else if (res.status === 503) {
          r.shed++;
          if (res.retryAfter) r.retryAfter.add(res.retryAfter);
          if (res.code) r.codes.add(res.code);
          await sleep(50); // impatient clients: keep the pressure on instead of waiting Retry-After
        } else r.other++;
      } catch (_) {
        r.other++;
        if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
        await sleep(20);
      }
    }
  };
  const health = async (): Promise<void> => {
    while (going()) {
      try {
        const res = await fetch(`${child.url}/health`);
        await res.arrayBuffer();
        if (res.status === 200) r.healthOk++;
        else r.healthBad++;
      } catch (_) {
        r.healthBad++;
        if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
      }
      await sleep(50);
    }
  };
  await Promise.all([...Array.from({ length: clients }, (_, i) => loop(i)), health()]);
  return r;
}

