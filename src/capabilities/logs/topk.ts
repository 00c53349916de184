// Bounded heavy hitters: at most `capacity` keys. When a new key finds it full, the table is cut to
// its top half by count and `floor` remembers the largest count dropped; a key that enters later may
// have had up to `floor` earlier occurrences, reported as its `maxError`. Cutting costs
// O(capacity · log capacity) once per capacity/2 new keys, so a line costs O(1) amortised.
//
// Keys are 53-bit hashes (not small integers), which a Map stores as heap numbers and hashes slowly;
// this open-addressing table on typed arrays (linear probing, load ≤ 1/2) does a hit in a few loads.

export interface HeavyEntry {
  count: number;
  maxError: number;
  /** Most severe level index seen (0 = fatal). */
  level: number;
  /** A raw message that normalises to this key, for display. */
  sample: string;
  /** Kept verbatim before the normalised sample (an access log's status code). */
  prefix: string;
}

const LOW = 2097152; // 2^21: a key is hi · 2^21 + lo

export class HeavyHitters {
  private readonly mask: number;
  private readonly shift: number;
  private readonly hi: Uint32Array;
  /** Low 21 bits of the key, -1 for an empty slot. */
  private readonly lo: Int32Array;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly levels: Uint8Array;
  private readonly samples: string[];
  private readonly prefixes: string[];
  private used = 0;
  private floor = 0;

  constructor(private readonly capacity: number) {
    let size = 16;
    let bits = 4;
    while (size < capacity * 2) {
      size *= 2;
      bits++;
    }
    this.mask = size - 1;
    this.shift = 32 - bits;
    this.hi = new Uint32Array(size);
    this.lo = new Int32Array(size).fill(-1);
    this.counts = new Float64Array(size);
    this.errors = new Float64Array(size);
    this.levels = new Uint8Array(size);
    this.samples = new Array<string>(size).fill('');
    this.prefixes = new Array<string>(size).fill('');
  }

  private slot(hi: number, lo: number): number {
    return Math.imul(hi ^ lo, 0x9e3779b1) >>> this.shift;
  }

  /** Counts one occurrence of `key` (a 53-bit integer); the sample is decoded only for a new key. */
  add(key: number, level: number, b: Buffer, s: number, e: number, prefix: string): void {
    const hi = (key / LOW) >>> 0;
    const lo = key - hi * LOW;
    let i = this.slot(hi, lo);
    for (;;) {
      const l = this.lo[i]!;
      if (l === -1) break;
      if (l === lo && this.hi[i] === hi) {
        this.counts[i]!++;
        if (level < this.levels[i]!) this.levels[i] = level;
        return;
      }
      i = (i + 1) & this.mask;
    }
    if (this.used >= this.capacity) {
      this.prune();
      i = this.slot(hi, lo);
      while (this.lo[i] !== -1) i = (i + 1) & this.mask;
    }
    this.used++;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.counts[i] = 1;
    this.errors[i] = this.floor;
    this.levels[i] = level;
    this.samples[i] = b.toString('utf8', s, Math.min(e, s + 300));
    this.prefixes[i] = prefix;
  }

  private entries(): Array<HeavyEntry & { hi: number; lo: number }> {
    const out: Array<HeavyEntry & { hi: number; lo: number }> = [];
    for (let i = 0; i <= this.mask; i++) {
      if (this.lo[i] === -1) continue;
      out.push({ hi: this.hi[i]!, lo: this.lo[i]!, count: this.counts[i]!, maxError: this.errors[i]!, level: this.levels[i]!, sample: this.samples[i]!, prefix: this.prefixes[i]! });
    }
    return out;
  }

  private prune(): void {
    const all = this.entries().sort((x, y) => y.count - x.count);
    const keep = Math.max(1, this.capacity >> 1);
    for (let i = keep; i < all.length; i++) {
      const v = all[i]!;
      if (v.count + v.maxError > this.floor) this.floor = v.count + v.maxError;
    }
    this.lo.fill(-1);
    this.samples.fill('');
    this.prefixes.fill('');
    this.used = 0;
    for (let k = 0; k < Math.min(keep, all.length); k++) {
      const v = all[k]!;
      let i = this.slot(v.hi, v.lo);
      while (this.lo[i] !== -1) i = (i + 1) & this.mask;
      this.hi[i] = v.hi;
      this.lo[i] = v.lo;
      this.counts[i] = v.count;
      this.errors[i] = v.maxError;
      this.levels[i] = v.level;
      this.samples[i] = v.sample;
      this.prefixes[i] = v.prefix;
      this.used++;
    }
  }

  /** The `n` most frequent, by count (ties: by text, for stable output). */
  top(n: number): HeavyEntry[] {
    return this.entries()
      .sort((x, y) => y.count - x.count || (x.prefix + x.sample < y.prefix + y.sample ? -1 : x.prefix + x.sample > y.prefix + y.sample ? 1 : 0))
      .slice(0, n)
      .map(({ count, maxError, level, sample, prefix }) => ({ count, maxError, level, sample, prefix }));
  }

  get size(): number {
    return this.used;
  }
}
