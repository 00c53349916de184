/**
 * Trend predictor: a least-squares line through each dimension's ratio over a sliding time window,
 * extrapolated to the critical threshold. The answer is the soonest dimension's time; null while
 * nothing rises or the window holds too few samples to trust.
 */
import { MemoryError } from './errors.js';
import type { Dimension } from './types.js';

export interface PredictorOptions {
  /** How far back the regression looks, ms. */
  windowMs: number;
  /** Fewest samples in the window before predicting. */
  minSamples: number;
}

/** Hard bound on points kept, whatever the window and interval. */
export const MAX_POINTS = 4096;

interface Series {
  t: number[];
  v: number[];
}

export interface Prediction {
  /** Milliseconds until the critical threshold; 0 when already there; null when not rising. */
  timeToCriticalMs: number | null;
  /** The dimension that gets there first. */
  dimension: Dimension | null;
  /** Its slope, ratio per second. */
  slopePerSecond: number | null;
}

export class TrendPredictor {
  private readonly series = new Map<Dimension, Series>();

  constructor(readonly opts: PredictorOptions) {
    if (!Number.isFinite(opts.windowMs) || opts.windowMs < 1000 || opts.windowMs > 24 * 3600_000) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.predictor.windowMs: must be in [1000, 86400000], got ${opts.windowMs}`, { key: 'predictor.windowMs' });
    }
    if (!Number.isInteger(opts.minSamples) || opts.minSamples < 3 || opts.minSamples > MAX_POINTS) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.predictor.minSamples: must be an integer in [3, ${MAX_POINTS}], got ${opts.minSamples}`, { key: 'predictor.minSamples' });
    }
  }

  add(at: number, ratios: Partial<Record<Dimension, number>>): void {
    for (const [d, r] of Object.entries(ratios) as Array<[Dimension, number]>) {
      let s = this.series.get(d);
      if (!s) this.series.set(d, (s = { t: [], v: [] }));
      s.t.push(at);
      s.v.push(r);
    }
    const from = at - this.opts.windowMs;
    for (const s of this.series.values()) {
      let drop = 0;
      while (drop < s.t.length && (s.t[drop]! < from || s.t.length - drop > MAX_POINTS)) drop++;
      if (drop > 0) {
        s.t.splice(0, drop);
        s.v.splice(0, drop);
      }
    }
  }

  /** Time until `critical` from `now`, over the dimensions that have enough samples. */
  predict(now: number, critical: number): Prediction {
    let best: Prediction = { timeToCriticalMs: null, dimension: null, slopePerSecond: null };
    for (const [d, s] of this.series) {
      const n = s.t.length;
      if (n < this.opts.minSamples) continue;
      const last = s.v[n - 1]!;
      const fit = linearFit(s.t, s.v);
      if (fit === null) continue;
      let ms: number | null;
      if (last >= critical) ms = 0;
      else if (fit.slope <= 0) ms = null;
      else ms = Math.max(0, (critical - (fit.meanV + fit.slope * (now - fit.meanT))) / fit.slope);
      if (ms !== null && (best.timeToCriticalMs === null || ms < best.timeToCriticalMs)) {
        best = { timeToCriticalMs: ms, dimension: d, slopePerSecond: fit.slope * 1000 };
      }
    }
    return best;
  }

  clear(): void {
    this.series.clear();
  }
}

/** Ordinary least squares of v on t (slope per ms, line through the means); null when all t are equal. */
export function linearFit(t: readonly number[], v: readonly number[]): { slope: number; meanT: number; meanV: number } | null {
  const n = t.length;
  if (n < 2) return null;
  let tm = 0;
  let vm = 0;
  for (let i = 0; i < n; i++) {
    tm += t[i]!;
    vm += v[i]!;
  }
  tm /= n;
  vm /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i]! - tm;
    sxy += dt * (v[i]! - vm);
    sxx += dt * dt;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, meanT: tm, meanV: vm };
}
