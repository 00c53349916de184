// Bounded heavy hitters: a map of at most `capacity` keys. When a new key finds it full, the map is
// cut to its top half by count and `floor` remembers the largest count dropped; a key that enters
// later may have had up to `floor` earlier occurrences, reported as its `maxError`. Cutting costs
// O(capacity · log capacity) once per capacity/2 new keys, so a line costs O(1) amortised.

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

export class HeavyHitters {
  private readonly map = new Map<number, HeavyEntry>();
  private floor = 0;

  constructor(private readonly capacity: number) {}

  /** Counts one occurrence of `key`; `sampleOf` is called only when the key is new. */
  add(key: number, level: number, b: Buffer, s: number, e: number, prefix: string): void {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      hit.count++;
      if (level < hit.level) hit.level = level;
      return;
    }
    if (this.map.size >= this.capacity) this.prune();
    this.map.set(key, { count: 1, maxError: this.floor, level, sample: b.toString('utf8', s, Math.min(e, s + 300)), prefix });
  }

  private prune(): void {
    const entries = [...this.map.entries()].sort((x, y) => y[1].count - x[1].count);
    const keep = Math.max(1, this.capacity >> 1);
    for (let i = keep; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      if (v.count + v.maxError > this.floor) this.floor = v.count + v.maxError;
      this.map.delete(k);
    }
  }

  /** The `n` most frequent, by count (ties: by sample text, for stable output). */
  top(n: number): HeavyEntry[] {
    return [...this.map.values()].sort((x, y) => y.count - x.count || (x.prefix + x.sample < y.prefix + y.sample ? -1 : 1)).slice(0, n);
  }

  get size(): number {
    return this.map.size;
  }
}
