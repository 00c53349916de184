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
 * The hottest keys, in bounded memory: a count-min sketch estimates every key's frequency, a min-heap
 * of `capacity` entries keeps the best estimates seen (O(log capacity) per update, the coldest at the
 * root ready to be replaced). The cache records a sample of accesses (1 in 16 by default), which keeps
 * the ranking and keeps the L1 hit path nearly free.
 */
export class HotKeys {
  private readonly sketch: CountMinSketch;
  private readonly keys: string[] = [];
  private readonly counts: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly capacity: number;
  private readonly decayEvery: number;
  private sinceDecay = 0;

  constructor(opts: HotKeysOptions) {
    this.capacity = opts.capacity;
    this.decayEvery = opts.decayEvery;
    this.sketch = new CountMinSketch(opts.width, opts.depth);
  }

  record(key: string): void {
    const n = this.sketch.add(key);
    if (++this.sinceDecay >= this.decayEvery) this.decay();
    const at = this.index.get(key);
    if (at !== undefined) {
      if (n > this.counts[at]!) {
        this.counts[at] = n;
        this.down(at);
      }
      return;
    }
    if (this.keys.length < this.capacity) {
      this.keys.push(key);
      this.counts.push(n);
      this.index.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return;
    }
    if (n > this.counts[0]!) {
      this.index.delete(this.keys[0]!);
      this.keys[0] = key;
      this.counts[0] = n;
      this.index.set(key, 0);
      this.down(0);
    }
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]!;
    const c = this.counts[i]!;
    this.keys[i] = this.keys[j]!;
    this.counts[i] = this.counts[j]!;
    this.keys[j] = k;
    this.counts[j] = c;
    this.index.set(this.keys[i]!, i);
    this.index.set(k, j);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.counts[parent]! <= this.counts[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const size = this.keys.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < size && this.counts[l]! < this.counts[least]!) least = l;
      if (r < size && this.counts[r]! < this.counts[least]!) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private decay(): void {
    this.sinceDecay = 0;
    this.sketch.decay();
    // Halving every count keeps the heap order.
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = this.counts[i]! >>> 1;
  }

  /** Hottest first. */
  list(limit = this.capacity): Array<{ key: string; count: number }> {
    return this.keys
      .map((key, i) => ({ key, count: this.counts[i]! }))
      .sort((a, b) => b.count - a.count)
      .slice(0, limit);
  }

  /** Seeds the table from a persisted list (counts as they were saved). */
  load(entries: ReadonlyArray<{ key: string; count: number }>): void {
    for (const e of entries) {
      if (this.keys.length >= this.capacity) break;
      if (this.index.has(e.key)) continue;
      this.keys.push(e.key);
      this.counts.push(Math.max(1, e.count | 0));
      this.index.set(e.key, this.keys.length - 1);
      this.up(this.keys.length - 1);
    }
  }

  get size(): number {
    return this.keys.length;
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
