/**
 * Regression detection: an exponentially weighted moving average (EWMA) of a KPI and of its variance
 * gives a baseline and a deviation band; a reading above the band is anomalous. This catches a
 * sudden 3× slowdown from 10 ms to 30 ms that a fixed 120 ms threshold never sees.
 *
 *   const d = new EwmaDetector({ alpha: 0.1, deviations: 4, minRatio: 2, warmup: 20 });
 *   d.update(12);   // { anomalous: false, baseline: 12, upper: ... }
 *
 * The band is the widest of: `deviations` standard deviations, (`minRatio` − 1) × baseline (so
 * ordinary noise on a quiet baseline never fires), and `minDelta` (an absolute floor, e.g. 2 points
 * of error rate over a baseline of 0). While a reading is anomalous the baseline learns 10× slower,
 * so a lasting regression keeps firing for a while instead of becoming the new normal at once.
 */
import { MetricsError } from './errors.js';

export interface EwmaOptions {
  /** Weight of a new reading, 0 < alpha ≤ 1. Default 0.1 (about the last 10 readings). */
  alpha?: number;
  /** Band width in standard deviations. Default 4. */
  deviations?: number;
  /** A reading must also be at least this multiple of the baseline. Default 2. */
  minRatio?: number;
  /** And at least this far from it, in the KPI's unit. Default 0. */
  minDelta?: number;
  /** Readings learnt before judging any. Default 20. */
  warmup?: number;
  /** Which side is bad: `up` (latency, error rate), `down` (hit rate) or both. Default `up`. */
  direction?: 'up' | 'down' | 'both';
}

export interface EwmaReading {
  /** False until `warmup` readings were learnt. */
  ready: boolean;
  anomalous: boolean;
  baseline: number;
  /** The band's edges; a reading outside them is anomalous (when ready). */
  upper: number;
  lower: number;
}

export class EwmaDetector {
  private readonly alpha: number;
  private readonly deviations: number;
  private readonly minRatio: number;
  private readonly minDelta: number;
  private readonly warmup: number;
  private readonly direction: 'up' | 'down' | 'both';
  private mean = NaN;
  private variance = 0;
  private n = 0;
  private lastReading: EwmaReading = { ready: false, anomalous: false, baseline: NaN, upper: NaN, lower: NaN };

  constructor(opts: EwmaOptions = {}) {
    this.alpha = opts.alpha ?? 0.1;
    this.deviations = opts.deviations ?? 4;
    this.minRatio = opts.minRatio ?? 2;
    this.minDelta = opts.minDelta ?? 0;
    this.warmup = opts.warmup ?? 20;
    this.direction = opts.direction ?? 'up';
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new MetricsError('METRICS_VALUE_INVALID', `EWMA alpha must be in (0, 1] (got ${this.alpha})`);
    if (!(this.deviations >= 0) || !(this.minRatio >= 1) || !(this.minDelta >= 0) || !Number.isInteger(this.warmup) || this.warmup < 1) {
      throw new MetricsError('METRICS_VALUE_INVALID', 'EWMA: deviations ≥ 0, minRatio ≥ 1, minDelta ≥ 0 and an integer warmup ≥ 1 are required');
    }
  }

  /** The last reading's verdict (NaN readings leave it unchanged but not anomalous). */
  get last(): EwmaReading {
    return this.lastReading;
  }

  update(x: number): EwmaReading {
    if (!Number.isFinite(x)) {
      // No data is not an anomaly; the baseline keeps what it learnt.
      this.lastReading = { ...this.lastReading, anomalous: false };
      return this.lastReading;
    }
    if (this.n === 0) {
      this.mean = x;
      this.variance = 0;
    }
    const sd = Math.sqrt(this.variance);
    const base = Math.abs(this.mean);
    const width = Math.max(this.deviations * sd, (this.minRatio - 1) * base, this.minDelta);
    const upper = this.mean + width;
    // Downwards, a ratio band means falling to 1/minRatio of the baseline.
    const lower = this.mean - Math.max(this.deviations * sd, base - base / this.minRatio, this.minDelta);
    const ready = this.n >= this.warmup;
    const anomalous = ready && ((this.direction !== 'down' && x > upper) || (this.direction !== 'up' && x < lower));
    this.lastReading = { ready, anomalous, baseline: this.mean, upper, lower };
    const a = anomalous ? this.alpha / 10 : this.alpha;
    const diff = x - this.mean;
    this.mean += a * diff;
    this.variance = (1 - a) * (this.variance + a * diff * diff);
    this.n++;
    return this.lastReading;
  }

  reset(): void {
    this.mean = NaN;
    this.variance = 0;
    this.n = 0;
    this.lastReading = { ready: false, anomalous: false, baseline: NaN, upper: NaN, lower: NaN };
  }
}
