/**
 * From a sample to a pressure level. Each watched dimension gives a ratio (used / its own limit);
 * the pressure is the highest one. Levels go up at once and come down only when the ratio has stayed
 * below the threshold minus the hysteresis for `stepDownSamples` samples in a row, so a level
 * hovering at a threshold does not flap.
 */
import { MemoryError } from './errors.js';
import { LEVEL_RANK, type Dimension, type MemorySample, type PressureLevel } from './types.js';

export interface Thresholds {
  moderate: number;
  high: number;
  critical: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = { moderate: 0.7, high: 0.85, critical: 0.95 };

export interface RatioOptions {
  /** Which dimensions count (default: all but swap). */
  dimensions: readonly Dimension[];
  /** A cap on RSS in bytes; 0 = none. */
  capBytes: number;
}

export interface Ratios {
  ratios: Partial<Record<Dimension, number>>;
  ratio: number;
  dimension: Dimension | null;
  /** The smallest real byte limit among heap, cgroup, constrained memory and cap. */
  effectiveLimitBytes: number | null;
}

/** The ratio of each watched dimension for one sample, and the highest. */
export function computeRatios(sample: MemorySample, opts: RatioOptions): Ratios {
  const ratios: Partial<Record<Dimension, number>> = {};
  const limits: number[] = [];
  const want = new Set(opts.dimensions);
  if (want.has('heap') && sample.oldLimit > 0) {
    // Committed, not used: V8 refuses to grow the old generation past its limit by pages.
    ratios.heap = Math.max(sample.oldUsed, sample.oldCommitted) / sample.oldLimit;
    limits.push(sample.oldLimit);
  }
  const cg = sample.cgroup;
  if (want.has('cgroup') && cg && cg.limit !== null && cg.limit > 0 && cg.workingSet !== null) {
    ratios.cgroup = cg.workingSet / cg.limit;
    limits.push(cg.limit);
  }
  if (want.has('constrained') && sample.constrained !== null) {
    ratios.constrained = sample.rss / sample.constrained;
    limits.push(sample.constrained);
  }
  if (want.has('cap') && opts.capBytes > 0) {
    ratios.cap = sample.rss / opts.capBytes;
    limits.push(opts.capBytes);
  }
  const sys = sample.system;
  if (want.has('system') && sys) ratios.system = 1 - sys.memAvailable / sys.memTotal;
  if (want.has('swap') && sys && sys.swapTotal > 0) ratios.swap = (sys.swapTotal - sys.swapFree) / sys.swapTotal;
  let ratio = 0;
  let dimension: Dimension | null = null;
  for (const [d, r] of Object.entries(ratios) as Array<[Dimension, number]>) {
    if (r > ratio || dimension === null) {
      ratio = r;
      dimension = d;
    }
  }
  return { ratios, ratio, dimension, effectiveLimitBytes: limits.length ? Math.min(...limits) : null };
}

export function validateThresholds(t: Thresholds, hysteresis: number): void {
  const bad = (key: string, message: string): never => {
    throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.${key}: ${message}`, { key });
  };
  for (const key of ['moderate', 'high', 'critical'] as const) {
    const v = t[key];
    if (!Number.isFinite(v) || v <= 0 || v > 1) bad(`thresholds.${key}`, `must be a fraction in (0, 1], got ${v}`);
  }
  if (!(t.moderate < t.high && t.high < t.critical)) bad('thresholds', `must rise: moderate ${t.moderate} < high ${t.high} < critical ${t.critical}`);
  if (!Number.isFinite(hysteresis) || hysteresis < 0 || hysteresis >= t.moderate) bad('hysteresis', `must be in [0, ${t.moderate}), got ${hysteresis}`);
}

function levelFor(ratio: number, t: Thresholds, lowerBy: number): PressureLevel {
  if (ratio >= t.critical - lowerBy) return 'critical';
  if (ratio >= t.high - lowerBy) return 'high';
  if (ratio >= t.moderate - lowerBy) return 'moderate';
  return 'normal';
}

export class PressureTracker {
  private current: PressureLevel = 'normal';
  private below = 0;
  private t: Thresholds;
  private h: number;

  constructor(
    thresholds: Thresholds,
    hysteresis: number,
    readonly stepDownSamples: number,
  ) {
    validateThresholds(thresholds, hysteresis);
    this.t = { ...thresholds };
    this.h = hysteresis;
    if (!Number.isInteger(stepDownSamples) || stepDownSamples < 1 || stepDownSamples > 1000) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.stepDownSamples: must be an integer in [1, 1000], got ${stepDownSamples}`, { key: 'stepDownSamples' });
    }
  }

  get level(): PressureLevel {
    return this.current;
  }

  get thresholds(): Readonly<Thresholds> {
    return this.t;
  }

  get hysteresis(): number {
    return this.h;
  }

  /** Changes thresholds at run time; validates first, so a bad change leaves the old ones. */
  configure(thresholds: Thresholds, hysteresis: number): void {
    validateThresholds(thresholds, hysteresis);
    this.t = { ...thresholds };
    this.h = hysteresis;
  }

  /** Feeds one ratio; returns the (possibly new) level. */
  update(ratio: number): PressureLevel {
    const raw = levelFor(ratio, this.t, 0);
    if (LEVEL_RANK[raw] >= LEVEL_RANK[this.current]) {
      this.current = raw;
      this.below = 0;
      return this.current;
    }
    // Below the current level's threshold: step down only to the level the ratio holds even with the
    // hysteresis taken off every threshold, and only after enough samples in a row.
    const lowered = levelFor(ratio, this.t, this.h);
    if (LEVEL_RANK[lowered] >= LEVEL_RANK[this.current]) {
      this.below = 0;
      return this.current;
    }
    this.below++;
    if (this.below >= this.stepDownSamples) {
      this.current = lowered;
      this.below = 0;
    }
    return this.current;
  }
}
