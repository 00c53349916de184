/**
 * A log-linear histogram with HDR precision, built on the bits of the IEEE-754 double itself: the
 * 11-bit exponent picks the octave and the top 7 mantissa bits pick one of 128 linear sub-buckets
 * inside it. A bucket is at most 1/128 of its lower edge wide, and a quantile is reported at the
 * bucket's midpoint, so every quantile is within 0.4% of an exact one (HDR's "2 significant digits"
 * gives the same bound). Recording is a typed-array store, one shift and one increment: no log(),
 * no search, no allocation once the octave's chunk exists. Chunks (128 counts, 1 KiB) are allocated
 * per octave on first use, so a latency series that spans a few octaves costs a few KiB.
 *
 *   const h = new LogLinearHistogram(0.001, 3_600_000);   // 1 µs .. 1 h, in ms
 *   h.record(12.5);
 *   h.quantile(0.99);
 */

import type { HistogramSnapshot } from './types.js';

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // sub-buckets per octave
const SHIFT = 20 - SUB_BITS; // the high word holds 20 mantissa bits; keep the top SUB_BITS of them

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: high word at [1]

function highWord(v: number): number {
  F64[0] = v;
  return U32[HI]!;
}

/** Lower edge of the bucket whose (unshifted) key is `key` = exponent << SUB_BITS | sub-bucket. */
function edgeOfKey(key: number): number {
  U32[HI] = key << SHIFT;
  U32[1 - HI] = 0;
  return F64[0]!;
}

/** Count, sum, extremes and quantiles: the same shape as a histogram snapshot. */
export type QuantileSummary = HistogramSnapshot;

export class LogLinearHistogram {
  /** Smallest value told apart from smaller ones; anything below lands in the first bucket. */
  readonly lowest: number;
  /** Largest value with full precision; anything above lands in the last bucket (max stays exact). */
  readonly highest: number;
  private readonly base: number;
  private readonly top: number;
  private chunks: (Float64Array | undefined)[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(lowest: number, highest: number) {
    if (!(lowest > 0) || !Number.isFinite(lowest) || !(highest > lowest) || !Number.isFinite(highest)) {
      throw new RangeError(`histogram range must satisfy 0 < lowest < highest < Infinity (got ${lowest}, ${highest})`);
    }
    this.lowest = lowest;
    this.highest = highest;
    this.base = (highWord(lowest) >>> 20) << SUB_BITS; // aligned to an octave so chunk = index >>> SUB_BITS
    this.top = (highWord(highest) >>> SHIFT) - this.base;
    this.chunks = new Array((this.top >>> SUB_BITS) + 1);
  }

  /** Records one value. NaN is ignored; negatives and values below `lowest` count in the first bucket. */
  record(v: number): void {
    let idx: number;
    if (v >= this.lowest) {
      F64[0] = v;
      idx = (U32[HI]! >>> SHIFT) - this.base;
      if (idx > this.top) idx = this.top;
    } else if (v === v) {
      idx = 0;
    } else {
      return;
    }
    const c = idx >>> SUB_BITS;
    let chunk = this.chunks[c];
    if (chunk === undefined) chunk = this.chunks[c] = new Float64Array(SUB_COUNT);
    chunk[idx & (SUB_COUNT - 1)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Lower edge of bucket `idx`. */
  lowerEdge(idx: number): number {
    return edgeOfKey(idx + this.base);
  }

  /** Midpoint of bucket `idx`, the value a quantile falling in it reports. */
  private representative(idx: number): number {
    return (edgeOfKey(idx + this.base) + edgeOfKey(idx + this.base + 1)) / 2;
  }

  /** Calls `fn(index, count)` for every non-empty bucket, ascending. */
  forEachBucket(fn: (idx: number, count: number) => void): void {
    const chunks = this.chunks;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c];
      if (chunk === undefined) continue;
      for (let i = 0; i < SUB_COUNT; i++) {
        const n = chunk[i]!;
        if (n !== 0) fn((c << SUB_BITS) | i, n);
      }
    }
  }

  /** The value below which a fraction `q` (0..1) of the observations fall; NaN when empty. */
  quantile(q: number): number {
    return this.quantiles([q])[0]!;
  }

  /** Several quantiles in one pass; `qs` ascending. */
  quantiles(qs: readonly number[]): number[] {
    const out = new Array<number>(qs.length).fill(NaN);
    if (this.count === 0) return out;
    const ranks = qs.map((q) => Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.count)));
    let k = 0;
    let seen = 0;
    const chunks = this.chunks;
    for (let c = 0; c < chunks.length && k < qs.length; c++) {
      const chunk = chunks[c];
      if (chunk === undefined) continue;
      for (let i = 0; i < SUB_COUNT && k < qs.length; i++) {
        const n = chunk[i]!;
        if (n === 0) continue;
        seen += n;
        while (k < qs.length && seen >= ranks[k]!) {
          const idx = (c << SUB_BITS) | i;
          // The last bucket also holds everything above `highest`: only max describes it.
          out[k] = idx === this.top ? this.max : Math.min(this.max, Math.max(this.min, this.representative(idx)));
          k++;
        }
      }
    }
    for (; k < qs.length; k++) out[k] = this.max;
    return out;
  }

  /**
   * Cumulative counts at the given upper bounds (`le`, ascending), as Prometheus buckets want. A fine
   * bucket that straddles a bound is counted by its midpoint, so a count can be off by the
   * observations of one fine bucket (values within 0.8% of the bound).
   */
  cumulativeAt(bounds: readonly number[]): number[] {
    const out = new Array<number>(bounds.length).fill(0);
    if (this.count === 0) return out;
    // Fine buckets and bounds both ascend: one merged walk comparing bucket indexes. A bucket below the
    // bound's own bucket lies wholly under it; the bound's own bucket is decided by its midpoint.
    const at = bounds.map((x) => this.indexOf(x));
    const mid = bounds.map((x, k) => x >= this.representative(at[k]!));
    let b = 0;
    let acc = 0;
    const chunks = this.chunks;
    for (let c = 0; c < chunks.length && b < bounds.length; c++) {
      const chunk = chunks[c];
      if (chunk === undefined) continue;
      for (let i = 0; i < SUB_COUNT; i++) {
        const n = chunk[i]!;
        if (n === 0) continue;
        const idx = (c << SUB_BITS) | i;
        while (b < bounds.length && (idx > at[b]! || (idx === at[b]! && !mid[b]!))) out[b++] = acc;
        if (b === bounds.length) break;
        acc += n;
      }
    }
    for (; b < bounds.length; b++) out[b] = acc;
    return out;
  }

  /** Index of the bucket `v` falls in (clamped to the first and last bucket). */
  indexOf(v: number): number {
    if (!(v >= this.lowest)) return 0;
    const idx = (highWord(v) >>> SHIFT) - this.base;
    return idx > this.top ? this.top : idx;
  }

  summary(): QuantileSummary {
    const [p50, p95, p99, p999] = this.quantiles([0.5, 0.95, 0.99, 0.999]) as [number, number, number, number];
    const empty = this.count === 0;
    return {
      count: this.count,
      sum: this.sum,
      min: empty ? NaN : this.min,
      max: empty ? NaN : this.max,
      mean: empty ? NaN : this.sum / this.count,
      p50,
      p95,
      p99,
      p999,
    };
  }

  /** Adds every observation of `other` (same range) into this one. */
  add(other: LogLinearHistogram): this {
    this.assertSameShape(other);
    for (let c = 0; c < other.chunks.length; c++) {
      const src = other.chunks[c];
      if (src === undefined) continue;
      let dst = this.chunks[c];
      if (dst === undefined) dst = this.chunks[c] = new Float64Array(SUB_COUNT);
      for (let i = 0; i < SUB_COUNT; i++) dst[i]! += src[i]!;
    }
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  /**
   * A histogram of what was recorded after `earlier` (an older copy of this one): the window between
   * two snapshots. min and max of a window are not recoverable exactly; they are bounded by the
   * window's first and last non-empty buckets.
   */
  since(earlier: LogLinearHistogram): LogLinearHistogram {
    this.assertSameShape(earlier);
    const out = new LogLinearHistogram(this.lowest, this.highest);
    let first = -1;
    let last = -1;
    for (let c = 0; c < this.chunks.length; c++) {
      const now = this.chunks[c];
      if (now === undefined) continue;
      const before = earlier.chunks[c];
      const dst = new Float64Array(SUB_COUNT);
      let any = false;
      for (let i = 0; i < SUB_COUNT; i++) {
        const d = now[i]! - (before === undefined ? 0 : before[i]!);
        if (d > 0) {
          dst[i] = d;
          any = true;
          const idx = (c << SUB_BITS) | i;
          if (first < 0) first = idx;
          last = idx;
        }
      }
      if (any) out.chunks[c] = dst;
    }
    out.count = this.count - earlier.count;
    out.sum = this.sum - earlier.sum;
    if (out.count > 0) {
      out.min = first === 0 ? Math.min(this.lowest, this.min) : Math.max(this.min, this.lowerEdge(first));
      out.max = last === this.top ? this.max : Math.min(this.max, this.lowerEdge(last + 1));
    }
    return out;
  }

  clone(): LogLinearHistogram {
    const out = new LogLinearHistogram(this.lowest, this.highest);
    out.chunks = this.chunks.map((c) => (c === undefined ? undefined : c.slice()));
    out.count = this.count;
    out.sum = this.sum;
    out.min = this.min;
    out.max = this.max;
    return out;
  }

  reset(): void {
    this.chunks = new Array(this.chunks.length);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** Bytes held by bucket counts (for stats snapshots and memory accounting). */
  bytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n += c.byteLength;
    return n;
  }

  private assertSameShape(other: LogLinearHistogram): void {
    if (other.lowest !== this.lowest || other.highest !== this.highest) {
      throw new RangeError('histograms with different ranges cannot be combined');
    }
  }
}
