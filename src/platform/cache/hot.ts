import { CacheError } from './errors.js';
import { compileGlob, namespacePrefix } from './keys.js';
import type { Glob } from './keys.js';

/**
 * Count-min sketch: `depth` rows of `width` counters; a key's estimate is the smallest of its `depth`
 * counters, never below its true count and above it by at most ~e/width of all counts (with high
 * probability). Fixed memory: width × depth × 4 bytes whatever the number of keys.
 */
export class CountMinSketch {
  private readonly rows: Uint32Array;
  readonly width: number;
  readonly depth: number;
  total = 0;

  constructor(width: number, depth: number) {
    if (!Number.isInteger(width) || width < 16 || width > 1 << 22 || (width & (width - 1)) !== 0) {
      throw new CacheError('CACHE_OPTIONS_INVALID', `sketch width must be a power of two in 16..4194304, got ${width}`, { width });
    }
    if (!Number.isInteger(depth) || depth < 1 || depth > 16) throw new CacheError('CACHE_OPTIONS_INVALID', `sketch depth must be 1..16, got ${depth}`, { depth });
    this.width = width;
    this.depth = depth;
    this.rows = new Uint32Array(width * depth);
  }

  /** Adds one occurrence; returns the new estimate. */
  add(key: string): number {
    return this.visit(key, 1);
  }

  /** The estimated count of `key` (never below the true count since the last decay). */
  estimate(key: string): number {
    return this.visit(key, 0);
  }

  private visit(key: string, by: number): number {
    // Two 32-bit FNV-1a variants combined (Kirsch-Mitzenmacher): row i uses h1 + i*h2.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h2 |= 1;
    const mask = this.width - 1;
    let min = 0xffffffff;
    for (let r = 0; r < this.depth; r++) {
      const idx = r * this.width + (((h1 + Math.imul(r, h2)) >>> 0) & mask);
      let v = this.rows[idx]!;
      if (by !== 0 && v < 0xffffffff) this.rows[idx] = ++v;
      if (v < min) min = v;
    }
    this.total += by;
    return min;
  }

  /** Halves every counter: old popularity fades so the sketch follows what is hot now. */
  decay(): void {
    for (let i = 0; i < this.rows.length; i++) this.rows[i]! >>>= 1;
    this.total = Math.floor(this.total / 2);
  }

  get bytes(): number {
    return this.rows.byteLength;
  }
}

export interface HotKeysOptions {
  /** How many hot keys are tracked (and persisted, and warmed). */
  capacity: number;
  width: number;
  depth: number;
  /** Counters halve after this many recorded accesses. */
  decayEvery: number;
}

/**
 * The hottest keys, in bounded memory: a count-min sketch estimates every key's frequency, a small
 * table keeps the `capacity` best estimates seen. The cache records a sample of accesses (1 in 16 by
 * default), which keeps the ranking and keeps the L1 hit path nearly free.
 */
export class HotKeys {
  private readonly sketch: CountMinSketch;
  private readonly top = new Map<string, number>();
  private readonly capacity: number;
  private readonly decayEvery: number;
  private minKey: string | undefined;
  private minCount = 0;
  private sinceDecay = 0;

  constructor(opts: HotKeysOptions) {
    this.capacity = opts.capacity;
    this.decayEvery = opts.decayEvery;
    this.sketch = new CountMinSketch(opts.width, opts.depth);
  }

  record(key: string): void {
    const n = this.sketch.add(key);
    if (++this.sinceDecay >= this.decayEvery) this.decay();
    if (this.top.has(key)) {
      this.top.set(key, n);
      if (key === this.minKey) this.findMin();
      return;
    }
    if (this.top.size < this.capacity) {
      this.top.set(key, n);
      if (this.minKey === undefined || n < this.minCount) {
        this.minKey = key;
        this.minCount = n;
      }
      return;
    }
    if (n > this.minCount && this.minKey !== undefined) {
      this.top.delete(this.minKey);
      this.top.set(key, n);
      this.findMin();
    }
  }

  private findMin(): void {
    this.minKey = undefined;
    this.minCount = Infinity;
    for (const [k, v] of this.top) {
      if (v < this.minCount) {
        this.minCount = v;
        this.minKey = k;
      }
    }
  }

  private decay(): void {
    this.sinceDecay = 0;
    this.sketch.decay();
    for (const [k, v] of this.top) this.top.set(k, v >>> 1);
    this.findMin();
  }

  /** Hottest first. */
  list(limit = this.capacity): Array<{ key: string; count: number }> {
    return [...this.top]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, count]) => ({ key, count }));
  }

  /** Seeds the table from a persisted list (counts as they were saved). */
  load(entries: ReadonlyArray<{ key: string; count: number }>): void {
    for (const e of entries.slice(0, this.capacity)) if (!this.top.has(e.key)) this.top.set(e.key, Math.max(1, e.count | 0));
    this.findMin();
  }

  get size(): number {
    return this.top.size;
  }

  get bytes(): number {
    return this.sketch.bytes;
  }
}

/** A prefetch rule as configured: when a key matching `when` is loaded, load `fetch` too. */
export interface PrefetchRule {
  /** `*` glob over the key within `namespace`, e.g. `user:*`. */
  when: string;
  /** Templates; `$1`.. stand for what the `*`s of `when` matched, e.g. `user:$1:prefs`. */
  fetch: string[];
  /** Namespace path (`users/orders`), '' (default) for the root. */
  namespace?: string;
}

export interface CompiledRule {
  prefix: string;
  glob: Glob;
  fetch: string[];
}

export const MAX_PREFETCH_RULES = 64;
export const MAX_FETCH_PER_RULE = 16;

export function compileRules(rules: readonly PrefetchRule[] | undefined): CompiledRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules) || rules.length > MAX_PREFETCH_RULES) {
    throw new CacheError('CACHE_OPTIONS_INVALID', `prefetch must be a list of at most ${MAX_PREFETCH_RULES} rules`, { key: 'prefetch' });
  }
  return rules.map((r, i) => {
    if (typeof r?.when !== 'string' || r.when.length === 0 || !Array.isArray(r.fetch) || r.fetch.length === 0 || r.fetch.length > MAX_FETCH_PER_RULE) {
      throw new CacheError('CACHE_OPTIONS_INVALID', `prefetch[${i}] needs "when" (a pattern) and "fetch" (1..${MAX_FETCH_PER_RULE} templates)`, { key: `prefetch[${i}]` });
    }
    for (const f of r.fetch) {
      if (typeof f !== 'string' || f.length === 0) throw new CacheError('CACHE_OPTIONS_INVALID', `prefetch[${i}].fetch holds an empty or non-string template`, { key: `prefetch[${i}].fetch` });
    }
    return { prefix: namespacePrefix(r.namespace ?? ''), glob: compileGlob(r.when), fetch: [...r.fetch] };
  });
}

/** Stored keys to prefetch after `stored` was loaded, per the rules (deduplicated, bounded). */
export function prefetchTargets(rules: readonly CompiledRule[], stored: string): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    if (!stored.startsWith(rule.prefix)) continue;
    const key = stored.slice(rule.prefix.length);
    if (key.includes('\x1f')) continue; // a key of a nested namespace, not of this one
    const caps = rule.glob.match(key);
    if (caps === undefined) continue;
    for (const t of rule.fetch) {
      const target = rule.prefix + t.replace(/\$(\d)/g, (_, d: string) => caps[Number(d) - 1] ?? '');
      if (target !== stored && !out.includes(target)) out.push(target);
    }
  }
  return out;
}
