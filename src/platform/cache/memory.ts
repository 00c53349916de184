import { LRUCache } from 'lru-cache';

/** One L1 entry: the decoded value, ready to hand out with no copy and no decode. */
export interface L1Entry {
  value: unknown;
  /** The namespace prefix the entry was stored under: a lookup from another namespace never hits it. */
  ns: string;
  /** Served as fresh until this epoch ms (normally `expiresAt`; pushed out while a failing factory backs off). */
  freshUntil: number;
  /** As written: the end of the TTL. */
  expiresAt: number;
  /** The end of the grace period: served stale by getOrSet until then, dropped after. */
  staleUntil: number;
  /** Which write this is (see codec.ts): a bus message about this very write leaves the copy alone. */
  writeId: number;
  /** When it was written (epoch ms): orders a write replayed to Redis against what Redis holds. */
  writtenAt: number;
  tags: readonly string[] | undefined;
  size: number;
}

export interface MemoryLayerOptions {
  maxItems: number;
  maxBytes: number;
}

export interface MemoryLayerStats {
  items: number;
  bytes: number;
  maxItems: number;
  maxBytes: number;
  /** The bounds in force now: lower than the configured ones while shrunk under memory pressure. */
  effectiveMaxItems: number;
  effectiveMaxBytes: number;
  evictions: number;
  taggedKeys: number;
}

/** Per-entry bookkeeping bytes on top of the encoded size (key, entry object, LRU slots). */
const OVERHEAD = 96;

/**
 * L1: an lru-cache bounded by items and bytes, holding decoded values. Everything here is synchronous.
 * Expiry is checked by the caller against a coarse clock (see `coarseNow`) rather than by lru-cache's
 * TTL machinery, so a hit is one Map lookup, one list move and one compare.
 *
 * The byte bound counts the encoded (msgpack) size plus a fixed overhead: a proxy for heap use, which
 * for JS objects is typically 2-4x the msgpack size.
 */
export class MemoryLayer {
  readonly lru: LRUCache<string, L1Entry>;
  readonly maxItems: number;
  readonly maxBytes: number;
  private effItems: number;
  private effBytes: number;
  private readonly byTag = new Map<string, Set<string>>();
  evictions = 0;

  constructor(opts: MemoryLayerOptions) {
    this.maxItems = opts.maxItems;
    this.maxBytes = opts.maxBytes;
    this.effItems = opts.maxItems;
    this.effBytes = opts.maxBytes;
    this.lru = new LRUCache<string, L1Entry>({
      max: opts.maxItems,
      maxSize: opts.maxBytes,
      dispose: (entry, key, reason) => {
        if (entry.tags !== undefined) this.unindex(key, entry.tags);
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  set(key: string, entry: L1Entry): void {
    const size = entry.size + key.length + OVERHEAD;
    if (size > this.effBytes) {
      this.lru.delete(key); // too big for L1 now: never keep an older copy around instead
      return;
    }
    this.lru.set(key, entry, { size });
    if (entry.tags !== undefined) {
      for (const tag of entry.tags) {
        let keys = this.byTag.get(tag);
        if (keys === undefined) this.byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
    }
    if (this.effItems < this.maxItems || this.effBytes < this.maxBytes) this.trim();
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Keys carrying any of `tags`, removed. Returns how many went. */
  deleteByTags(tags: readonly string[]): number {
    let n = 0;
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (keys === undefined) continue;
      for (const key of [...keys]) if (this.lru.delete(key)) n++;
      this.byTag.delete(tag);
    }
    return n;
  }

  /** Drops every key starting with `prefix` ('' = everything). */
  clear(prefix = ''): number {
    if (prefix === '') {
      const n = this.lru.size;
      this.lru.clear();
      this.byTag.clear();
      return n;
    }
    const doomed: string[] = [];
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
    return doomed.length;
  }

  /**
   * Lowers the bounds to `fraction` of the configured ones and evicts least recently used entries
   * until L1 fits. Called by the memory monitor under pressure; `restore()` lifts the bounds again.
   */
  shrink(fraction: number): { evicted: number; freedBytes: number } {
    const f = Math.min(1, Math.max(0, fraction));
    this.effItems = Math.max(0, Math.floor(this.maxItems * f));
    this.effBytes = Math.max(0, Math.floor(this.maxBytes * f));
    const before = { items: this.lru.size, bytes: this.lru.calculatedSize };
    this.trim();
    return { evicted: before.items - this.lru.size, freedBytes: before.bytes - this.lru.calculatedSize };
  }

  restore(): void {
    this.effItems = this.maxItems;
    this.effBytes = this.maxBytes;
  }

  private trim(): void {
    while (this.lru.size > 0 && (this.lru.size > this.effItems || this.lru.calculatedSize > this.effBytes)) this.lru.pop();
  }

  private unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.byTag.delete(tag);
    }
  }

  stats(): MemoryLayerStats {
    return {
      items: this.lru.size,
      bytes: this.lru.calculatedSize,
      maxItems: this.maxItems,
      maxBytes: this.maxBytes,
      effectiveMaxItems: this.effItems,
      effectiveMaxBytes: this.effBytes,
      evictions: this.evictions,
      taggedKeys: this.byTag.size,
    };
  }
}

let cachedNow = 0;
const resetNow = (): void => {
  cachedNow = 0;
};

/**
 * Date.now() costs ~50 ns here, as much as the whole lru-cache lookup, so the hit path reads a clock
 * cached for at most 1 ms (like lru-cache's own ttlResolution). Within one long synchronous stretch
 * time stands still; expiry is late by at most that stretch.
 */
export function coarseNow(): number {
  if (cachedNow !== 0) return cachedNow;
  cachedNow = Date.now();
  setTimeout(resetNow, 1).unref();
  return cachedNow;
}
