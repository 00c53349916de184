import type { MetricsRegistry } from '../metrics/types.js';
import type { BreakerState, Policy } from '../resilience/types.js';
import type { PrefetchRule } from './hot.js';

export type { PrefetchRule } from './hot.js';

/** Run-time switches (feature flags), read on every operation: keep them cheap. */
export interface CacheFlags {
  /** `cache.l2`: off → Redis is neither read nor written (writes are remembered and replayed when it is back on). */
  l2?: () => boolean;
  /** `cache.compression`: off → new values are stored uncompressed (compressed ones still read). */
  compression?: () => boolean;
}

/** The policy guarding L2: the resilience CircuitBreaker, or any Policy (state/reset used when present). */
export type L2Breaker = Policy & {
  readonly state?: BreakerState;
  reset?(): void;
  onChange?(listener: (state: BreakerState, previous: BreakerState) => void): () => void;
};

export interface L1Options {
  /** Default 10,000. */
  maxItems?: number;
  /** Encoded bytes + per-entry overhead. Default 64 MiB. */
  maxBytes?: number;
}

export interface L2Options {
  url: string;
  /** Prefix of every Redis key and of the bus channel. Default `code:cache:<name>:`. */
  prefix?: string;
  /** Default 1,000 ms. */
  commandTimeoutMs?: number;
  /** Default 2,000 ms. */
  connectTimeoutMs?: number;
  /** Default 1,000 ms. */
  maxReconnectDelayMs?: number;
  /** Default: a CircuitBreaker that opens after 3 failures in a row or half the last 100 calls failing. */
  breaker?: L2Breaker;
  /** How long the default breaker stays open before trying Redis again. Default 5,000 ms. */
  breakerOpenMs?: number;
  /** Invalidation bus over pub/sub. Default true. */
  bus?: boolean;
  /** Cross-process single flight (SET NX PX leases). Default true. */
  leases?: boolean;
}

export interface L3Options {
  /** The SQLite file. */
  path: string;
  /** Default 256 MiB. */
  maxBytes?: number;
  /** Default 1,000,000. */
  maxItems?: number;
}

export interface WarmPattern {
  /** `*` glob over keys within `namespace`, e.g. `config:*`. */
  pattern: string;
  /** Namespace path (`users/orders`); default the root. */
  namespace?: string;
}

export interface CacheOptions {
  /** Label in metrics and warnings. Default `main`. */
  name?: string;
  /** L1 (memory) options, or false for no L1. Default on. */
  l1?: L1Options | false;
  /** L2 (Redis), only when given. */
  l2?: L2Options | false;
  /** L3 (disk), only when given. */
  l3?: L3Options | false;
  /** Default TTL in ms (Infinity: never stale). Default 300,000. */
  ttlMs?: number;
  /** Default grace in ms: how long past its TTL a value may still be served while it is refreshed. Default 0. */
  graceMs?: number;
  /** getOrSet with a stale value: wait this long for the refresh before serving stale. Default 0 (serve stale at once). */
  softTimeoutMs?: number;
  /** A factory running longer is abandoned: CACHE_FACTORY_TIMEOUT (or the stale value). Default 10,000 ms. */
  hardTimeoutMs?: number;
  /** After a factory failed and stale was served, the stale value is served without retrying for this long. Default 5,000 ms. */
  graceBackoffMs?: number;
  /** Lease lifetime. Default hardTimeoutMs + 2,000. */
  leaseMs?: number;
  /** Default 1,024 characters. */
  maxKeyLength?: number;
  /** Largest value, serialised, before compression. Default 4 MiB. */
  maxValueBytes?: number;
  /** Values at least this large (serialised) are compressed while compression is on. Default 1,024. */
  compressThresholdBytes?: number;
  /** Most keys in one getMany/setMany/deleteMany. Default 1,000. */
  maxBatch?: number;
  /** Most tags on one entry. Default 32. */
  maxTags?: number;
  /** Hot-key tracking, or false. */
  hotKeys?: false | { capacity?: number; sampleEvery?: number; persistIntervalMs?: number };
  /** What to load into L1 at start-up: the persisted hot keys and keys matching patterns. */
  warm?: { onStart?: boolean; patterns?: WarmPattern[]; maxKeys?: number };
  /** Predictive prefetch: when a key matching `when` is loaded into L1, load the related keys too. */
  prefetch?: PrefetchRule[];
  flags?: CacheFlags;
  metrics?: MetricsRegistry;
  /** Where degradations are reported (L2 lost/back, L1 dropped, L3 errors). */
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
  /** Identifies this instance on the bus. Default random. */
  instanceId?: string;
}

export interface SetOptions {
  /** ms; Infinity = never stale. Default the cache's ttlMs. */
  ttl?: number;
  /** ms past the TTL during which getOrSet serves the old value while refreshing. */
  grace?: number;
  tags?: readonly string[];
}

export interface GetOrSetOptions extends SetOptions {
  softTimeout?: number;
  hardTimeout?: number;
}

export interface FactoryContext<T> {
  /** The key, as the caller gave it (without namespace). */
  key: string;
  /** Aborted when the hard timeout fires. */
  signal: AbortSignal;
  /** The stale value being refreshed, if any. */
  stale: T | undefined;
}

/** Produces a missing value. Returning undefined caches nothing (return null to cache "nothing"). */
export type Factory<T> = (ctx: FactoryContext<T>) => T | Promise<T>;

export interface SetManyEntry<T = unknown> extends SetOptions {
  key: string;
  value: T;
}

/** What every cache view offers: the root cache and each namespace. */
export interface Cache {
  /** The namespace path ('' for the root). */
  readonly path: string;
  /** L1 only, synchronous, no promise: the fresh value or undefined. */
  getSync<T = unknown>(key: string): T | undefined;
  /** Through the layers; fresh values only. An L1 hit costs one Promise.resolve. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** One L2 round trip (MGET) for all keys L1 lacks. */
  getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>>;
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>;
  setMany(entries: readonly SetManyEntry[]): Promise<void>;
  delete(key: string): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>;
  deleteByTag(tags: string | readonly string[]): Promise<void>;
  /** Empties this namespace (and the ones nested in it); on the root, the whole cache. */
  clear(): Promise<void>;
  namespace(name: string): Cache;
}

export interface LayerCounters {
  hits: number;
  misses: number;
}

export interface CacheStats {
  name: string;
  /** served ÷ (served + missed): requests answered from some layer (fresh or stale) vs. answered by a factory or not at all. */
  hitRate: number;
  served: number;
  missed: number;
  staleServed: number;
  /** Concurrent callers that joined a load already under way (not in hitRate). */
  coalesced: number;
  l1:
    | (LayerCounters & { items: number; bytes: number; maxItems: number; maxBytes: number; effectiveMaxItems: number; effectiveMaxBytes: number; evictions: number; drops: number })
    | undefined;
  l2:
    | (LayerCounters & { available: boolean; connected: boolean; enabled: boolean; breaker: BreakerState['kind'] | 'none'; errors: number; skipped: number; dirty: number; dirtyOverflow: boolean; replays: number })
    | undefined;
  l3: (LayerCounters & { items: number; bytes: number; maxItems: number; maxBytes: number; evictions: number; errors: number; pending: number }) | undefined;
  factory: { runs: number; errors: number; timeouts: number; leaseWaits: number; leaseLost: number };
  bus: { connected: boolean; published: number; received: number; reconnects: number; dropped: number } | undefined;
  hot: { tracked: number; sketchBytes: number; warmed: number; prefetched: number } | undefined;
  codec: { compressed: number; bytesSaved: number; decodeErrors: number };
  inflight: number;
}
