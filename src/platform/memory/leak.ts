/**
 * Leak detection: the heap right after garbage collection is what the program really keeps. Per
 * window, the lowest heap reading (post-GC readings and samples) is the window's baseline; when the
 * baselines rise window after window for `windows` windows and the line through them climbs faster
 * than `minGrowthMbPerHour`, a leak is suspected. MB here are MiB (2^20 bytes).
 */
import { MemoryError } from './errors.js';
import { linearFit } from './predictor.js';

export interface LeakOptions {
  windowMs: number;
  /** Consecutive rising windows before suspecting a leak. */
  windows: number;
  minGrowthMbPerHour: number;
}

const MB = 1024 * 1024;
const HOUR = 3600_000;

export class LeakDetector {
  private windowStart: number | null = null;
  private minBytes = Infinity;
  private minAt = 0;
  /** Closed windows' baselines, oldest first; at most `windows + 1`. */
  private readonly baselines: Array<{ at: number; bytes: number }> = [];
  private suspected = false;

  constructor(readonly opts: LeakOptions) {
    const bad = (key: string, msg: string): never => {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.leak.${key}: ${msg}`, { key: `leak.${key}` });
    };
    if (!Number.isFinite(opts.windowMs) || opts.windowMs < 100 || opts.windowMs > 24 * HOUR) bad('windowMs', `must be in [100, 86400000], got ${opts.windowMs}`);
    if (!Number.isInteger(opts.windows) || opts.windows < 2 || opts.windows > 100) bad('windows', `must be an integer in [2, 100], got ${opts.windows}`);
    if (!Number.isFinite(opts.minGrowthMbPerHour) || opts.minGrowthMbPerHour < 0) bad('minGrowthMbPerHour', `must be ≥ 0, got ${opts.minGrowthMbPerHour}`);
  }

  /** One heap reading (bytes). Returns a transition when the verdict changes. */
  observe(at: number, heapBytes: number): 'firing' | 'resolved' | null {
    if (this.windowStart === null) this.windowStart = at;
    let change: 'firing' | 'resolved' | null = null;
    if (at - this.windowStart >= this.opts.windowMs) {
      if (this.minBytes !== Infinity) {
        this.baselines.push({ at: this.minAt, bytes: this.minBytes });
        if (this.baselines.length > this.opts.windows + 1) this.baselines.shift();
        change = this.judge();
      }
      // Windows are contiguous in time even when a tick came late.
      this.windowStart += Math.floor((at - this.windowStart) / this.opts.windowMs) * this.opts.windowMs;
      this.minBytes = Infinity;
    }
    if (heapBytes < this.minBytes) {
      this.minBytes = heapBytes;
      this.minAt = at;
    }
    return change;
  }

  /** Growth of the baselines, MB per hour; null until two windows have closed. */
  growthMbPerHour(): number | null {
    if (this.baselines.length < 2) return null;
    const fit = linearFit(
      this.baselines.map((b) => b.at),
      this.baselines.map((b) => b.bytes),
    );
    return fit === null ? null : (fit.slope * HOUR) / MB;
  }

  get leakSuspected(): boolean {
    return this.suspected;
  }

  private judge(): 'firing' | 'resolved' | null {
    const b = this.baselines;
    let rising = b.length === this.opts.windows + 1;
    for (let i = 1; rising && i < b.length; i++) if (b[i]!.bytes <= b[i - 1]!.bytes) rising = false;
    const growth = this.growthMbPerHour();
    const now = rising && growth !== null && growth >= this.opts.minGrowthMbPerHour;
    if (now === this.suspected) return null;
    this.suspected = now;
    return now ? 'firing' : 'resolved';
  }
}
