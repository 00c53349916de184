import { KERNEL_NAMES } from './types.js';
import type { KernelImpl, KernelName } from './types.js';

/** Raw counters for one kernel × implementation; the facade bumps these fields directly. */
export interface ImplCounters {
  calls: number;
  errors: number;
  /** Calls that were timed (one in `sampleEvery`, plus shadow runs). */
  timedCalls: number;
  timedMs: number;
  /** Elements (floats, bytes or words) processed by the timed calls. */
  timedElements: number;
  /** The last RING timings, in ns per element: their median is robust to a preempted call. */
  ring: Float64Array;
  ringNext: number;
}

/** How many recent timings the median is taken over. */
export const RING = 64;

export interface ImplSnapshot {
  calls: number;
  errors: number;
  timedCalls: number;
  /**
   * Time per element in nanoseconds: the median of the last 64 timed calls (one preempted call on a
   * busy machine would skew a mean); null before any timed call.
   */
  nsPerElement: number | null;
}

export interface KernelSnapshot {
  wasm: ImplSnapshot;
  js: ImplSnapshot;
  /** js ns/element ÷ wasm ns/element, when both were timed; above 1 WASM is faster. */
  speedup: number | null;
}

export interface KernelMonitorSnapshot {
  kernels: Record<KernelName, KernelSnapshot>;
  /** Geometric mean of the per-kernel speed-ups that are known; null when none is. */
  speedup: number | null;
}

const fresh = (): ImplCounters => ({ calls: 0, errors: 0, timedCalls: 0, timedMs: 0, timedElements: 0, ring: new Float64Array(RING), ringNext: 0 });

/**
 * Calls, time and errors per kernel and implementation. Counting is a field increment; timing is
 * sampled (see KernelsOptions.sampleEvery) so that a 1,000-float call does not pay two clock reads.
 */
export class KernelMonitor {
  private readonly counters = new Map<KernelName, Record<KernelImpl, ImplCounters>>();

  constructor() {
    for (const name of KERNEL_NAMES) this.counters.set(name, { wasm: fresh(), js: fresh() });
  }

  /** The live counters of one kernel × implementation (mutated in place by the facade). */
  of(name: KernelName, impl: KernelImpl): ImplCounters {
    return this.counters.get(name)![impl];
  }

  /** Records one timed call. */
  time(name: KernelName, impl: KernelImpl, ms: number, elements: number): void {
    const c = this.of(name, impl);
    c.timedCalls++;
    c.timedMs += ms;
    c.timedElements += elements;
    if (elements > 0) c.ring[c.ringNext++ % RING] = (ms * 1e6) / elements;
  }

  /** Zeroes every counter (in place: the facade holds references to them). */
  reset(): void {
    for (const pair of this.counters.values()) for (const c of [pair.wasm, pair.js]) Object.assign(c, fresh());
    // (fresh rings: the facade keeps references to the counter objects, not to the rings)
  }

  snapshot(): KernelMonitorSnapshot {
    const kernels = {} as Record<KernelName, KernelSnapshot>;
    let logSum = 0;
    let known = 0;
    for (const name of KERNEL_NAMES) {
      const { wasm, js } = this.counters.get(name)!;
      const w = implSnapshot(wasm);
      const j = implSnapshot(js);
      const speedup = w.nsPerElement !== null && j.nsPerElement !== null && w.nsPerElement > 0 ? j.nsPerElement / w.nsPerElement : null;
      if (speedup !== null) {
        logSum += Math.log(speedup);
        known++;
      }
      kernels[name] = { wasm: w, js: j, speedup };
    }
    return { kernels, speedup: known > 0 ? Math.exp(logSum / known) : null };
  }
}

function implSnapshot(c: ImplCounters): ImplSnapshot {
  const n = Math.min(c.ringNext, RING);
  let median: number | null = null;
  if (n > 0) {
    const sorted = c.ring.slice(0, n).sort();
    median = n % 2 ? sorted[n >> 1]! : (sorted[(n >> 1) - 1]! + sorted[n >> 1]!) / 2;
  }
  return { calls: c.calls, errors: c.errors, timedCalls: c.timedCalls, nsPerElement: median };
}
