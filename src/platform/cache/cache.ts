import { randomUUID } from 'node:crypto';
import { CircuitBreaker } from '../resilience/breaker.js';
import { InvalidationBus } from './bus.js';
import type { BusMessage } from './bus.js';
import { Codec, newWriteId, versionOf } from './codec.js';
import type { Decoded } from './codec.js';
import { DiskLayer } from './disk.js';
import { CacheError, isCacheError } from './errors.js';
import { HotKeys, compileRules, prefetchTargets } from './hot.js';
import type { CompiledRule } from './hot.js';
import { NS_SEP, checkKey, namespacePrefix, checkNamespace, compileGlob } from './keys.js';
import { MemoryLayer, coarseNow } from './memory.js';
import { CacheMetrics } from './metrics.js';
import type { AcquireResult, RedisLayer } from './redis.js';
import type { LayerEntry } from './layer.js';
import type { Cache, CacheOptions, CacheStats, Factory, GetOrSetOptions, L2Breaker, SetManyEntry, SetOptions } from './types.js';
import { lazyPackr } from './msgpack.js';

/** Options of one write or getOrSet, checked and defaulted. */
interface Resolved {
  ttl: number;
  grace: number;
  tags: readonly string[] | undefined;
  softTimeout: number;
  hardTimeout: number;
}

/** An entry read from L2/L3; `epoch` is the bus epoch at which the read started. */
type Found = Decoded;

/** What a refresh knows of the stale value it replaces. */
interface Stale {
  value: unknown;
  /** Bytes 1-16 of its encoding: the lease script uses them to notice somebody already rewrote it. */
  version: Buffer;
}

const YEAR_MS = 365 * 24 * 3600_000;
const MAX_DIRTY = 10_000;
const META_HOT = 'hot';

function num(name: string, v: unknown, def: number, min: number, max: number, allowInfinity = false): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || (v > max && !(allowInfinity && v === Infinity))) {
    throw new CacheError('CACHE_OPTIONS_INVALID', `cache option ${name} must be a number in ${min}..${max}${allowInfinity ? ' or Infinity' : ''}, got ${String(v)}`, {
      key: name,
      value: String(v),
      min,
      max,
    });
  }
  return v;
}

function nsOf(stored: string): string {
  const i = stored.lastIndexOf(NS_SEP);
  return i < 0 ? '' : stored.slice(0, i + 1);
}

/**
 * The tiered cache: L1 memory (synchronous), L2 Redis (behind a circuit breaker, with leases and an
 * invalidation bus), L3 disk. Any combination of layers works. Reads go L1 → L2 → L3, and L2 is the
 * authority while it answers (an L2 miss is a miss: a local L3 copy may have missed a deletion made
 * elsewhere); L3 answers when there is no L2 or L2 is down. Writes go to every layer.
 *
 *   const cache = await createCache({ l2: { url: 'redis://127.0.0.1:6379' }, l3: { path: 'data/cache.db' } });
 *   const user = await cache.getOrSet(`user:${id}`, ({ signal }) => db.user(id, signal), { ttl: 60_000, grace: 600_000, tags: ['users'] });
 *   await cache.deleteByTag('users');
 */
export class TieredCache implements Cache {
  readonly name: string;
  readonly path = '';
  readonly instanceId: string;
  private readonly l1: MemoryLayer | undefined;
  private readonly l2: RedisLayer | undefined;
  private readonly l3: DiskLayer | undefined;
  private readonly bus: InvalidationBus | undefined;
  private readonly breaker: L2Breaker | undefined;
  private readonly ownBreaker: CircuitBreaker | undefined;
  private readonly codec: Codec;
  private readonly hot: HotKeys | undefined;
  private readonly sampleMask: number;
  private readonly rules: CompiledRule[];
  private readonly warmPatterns: Array<{ prefix: string; pattern: string }>;
  private readonly warmOnStart: boolean;
  private readonly warmMax: number;
  private readonly leases: boolean;
  private defaults: Resolved;
  private graceBackoffMs: number;
  private leaseMs: number;
  private readonly leaseMsFixed: boolean;
  private readonly maxKeyLength: number;
  private readonly maxBatch: number;
  private readonly maxTags: number;
  private readonly flagL2: () => boolean;
  private readonly flagCompression: () => boolean;
  private readonly warn: (message: string, details?: Record<string, unknown>) => void;
  private readonly metrics: CacheMetrics | undefined;
  private readonly unavailable: () => never;
  private readonly packr = lazyPackr({ useRecords: false });
  private readonly timers: NodeJS.Timeout[] = [];
  private hotEvery = 0;

  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly refreshing = new Map<string, Promise<unknown>>();
  private readonly reads = new Map<string, Promise<Found | undefined>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly prefetchQueue = new Set<string>();
  private prefetchScheduled = false;

  // A read that started before a bus message evicted its key must not put what it read into L1/L3:
  // it may be the value the message was about. Epochs order reads and evictions.
  private busEpoch = 0;
  private floorEpoch = 0;
  private readonly lastEvicted = new Map<string, { epoch: number; writeId: number }>();
  private manyReads = 0;

  // L2 writes that could not be made (Redis down, flag off): replayed when L2 is back.
  private readonly dirty = new Map<string, 's' | 'd'>();
  private readonly dirtyTags = new Set<string>();
  private readonly dirtyClears = new Set<string>();
  private dirtyOverflow = false;
  private replaying = false;
  private lastL2Flag = true;
  private l2Down = false;
  private closed = false;
  private tick = 0;

  // Counters: plain fields on the hot path, copied into the metrics registry once a second.
  l1Hits = 0;
  l1Misses = 0;
  l2Hits = 0;
  l2Misses = 0;
  l3Hits = 0;
  l3Misses = 0;
  lowerServed = 0;
  staleServed = 0;
  missed = 0;
  coalesced = 0;
  l2Errors = 0;
  l2Skipped = 0;
  l1Drops = 0;
  factoryRuns = 0;
  factoryErrors = 0;
  factoryTimeouts = 0;
  leaseWaits = 0;
  leaseLost = 0;
  decodeErrors = 0;
  replays = 0;
  warmed = 0;
  prefetched = 0;

  constructor(opts: CacheOptions = {}, layers: { RedisLayer?: typeof RedisLayer } = {}) {
    const name = opts.name ?? 'main';
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new CacheError('CACHE_OPTIONS_INVALID', `cache option name must match [A-Za-z0-9_.-]{1,64}, got ${JSON.stringify(name)}`, { key: 'name' });
    }
    this.name = name;
    this.instanceId = opts.instanceId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.warn = opts.onWarning ?? ((message) => process.emitWarning(`cache ${name}: ${message}`));
    this.maxKeyLength = num('maxKeyLength', opts.maxKeyLength, 1024, 1, 64 * 1024);
    this.maxBatch = num('maxBatch', opts.maxBatch, 1000, 1, 100_000);
    this.maxTags = num('maxTags', opts.maxTags, 32, 0, 1000);
    const hardTimeout = num('hardTimeoutMs', opts.hardTimeoutMs, 10_000, 1, YEAR_MS, true);
    this.defaults = {
      ttl: num('ttlMs', opts.ttlMs, 300_000, 1, YEAR_MS * 100, true),
      grace: num('graceMs', opts.graceMs, 0, 0, YEAR_MS * 100),
      tags: undefined,
      softTimeout: num('softTimeoutMs', opts.softTimeoutMs, 0, 0, YEAR_MS),
      hardTimeout,
    };
    this.graceBackoffMs = num('graceBackoffMs', opts.graceBackoffMs, 5_000, 0, YEAR_MS);
    this.leaseMs = num('leaseMs', opts.leaseMs, Math.min(hardTimeout, YEAR_MS) + 2_000, 100, YEAR_MS);
    this.leaseMsFixed = opts.leaseMs !== undefined;
    this.codec = new Codec({
      maxValueBytes: num('maxValueBytes', opts.maxValueBytes, 4 * 1024 * 1024, 16, 512 * 1024 * 1024),
      compressThresholdBytes: num('compressThresholdBytes', opts.compressThresholdBytes, 1024, 0, 512 * 1024 * 1024),
    });
    const flags = opts.flags ?? {};
    this.flagL2 = flags.l2 ?? (() => true);
    this.flagCompression = flags.compression ?? (() => true);
    const unavailableError = new CacheError('CACHE_L2_UNAVAILABLE', 'Redis (L2) is not connected', { cache: name });
    this.unavailable = () => {
      throw unavailableError;
    };

    if (opts.l2 && (typeof opts.l2.url !== 'string' || !/^rediss?:\/\//.test(opts.l2.url))) {
      throw new CacheError('CACHE_OPTIONS_INVALID', 'cache option l2.url must be a redis:// or rediss:// URL', { key: 'l2.url' });
    }

    if (opts.l1 !== false) {
      const l1 = opts.l1 ?? {};
      this.l1 = new MemoryLayer({
        maxItems: num('l1.maxItems', l1.maxItems, 10_000, 1, 100_000_000),
        maxBytes: num('l1.maxBytes', l1.maxBytes, 64 * 1024 * 1024, 1024, 1024 ** 4),
      });
    }

    if (opts.hotKeys !== false) {
      const h = opts.hotKeys ?? {};
      const sampleEvery = num('hotKeys.sampleEvery', h.sampleEvery, 16, 1, 1 << 20);
      if ((sampleEvery & (sampleEvery - 1)) !== 0) throw new CacheError('CACHE_OPTIONS_INVALID', `cache option hotKeys.sampleEvery must be a power of two, got ${sampleEvery}`, { key: 'hotKeys.sampleEvery' });
      this.sampleMask = sampleEvery - 1;
      this.hot = new HotKeys({ capacity: num('hotKeys.capacity', h.capacity, 256, 1, 100_000), width: 4096, depth: 4, decayEvery: 40_960 });
      this.hotEvery = num('hotKeys.persistIntervalMs', h.persistIntervalMs, 60_000, 1_000, YEAR_MS);
    } else {
      this.sampleMask = 0;
    }

    this.rules = this.l1 ? compileRules(opts.prefetch) : [];
    const warm = opts.warm ?? {};
    this.warmOnStart = warm.onStart ?? true;
    this.warmMax = num('warm.maxKeys', warm.maxKeys, 10_000, 0, 1_000_000);
    this.warmPatterns = (warm.patterns ?? []).map((p, i) => {
      if (typeof p?.pattern !== 'string' || p.pattern.length === 0) throw new CacheError('CACHE_OPTIONS_INVALID', `cache option warm.patterns[${i}].pattern must be a non-empty string`, { key: `warm.patterns[${i}]` });
      compileGlob(p.pattern);
      return { prefix: namespacePrefix(p.namespace ?? ''), pattern: p.pattern };
    });

    let l3cfg: ConstructorParameters<typeof DiskLayer>[0] | undefined;
    if (opts.l3) {
      if (typeof opts.l3.path !== 'string' || opts.l3.path.length === 0) throw new CacheError('CACHE_OPTIONS_INVALID', 'cache option l3.path must be a file path', { key: 'l3.path' });
      l3cfg = {
        path: opts.l3.path,
        maxBytes: num('l3.maxBytes', opts.l3.maxBytes, 256 * 1024 * 1024, 1024, 1024 ** 5),
        maxItems: num('l3.maxItems', opts.l3.maxItems, 1_000_000, 1, 1e10),
        onWarning: this.warn,
      };
    }
    const l2o = opts.l2 || undefined;
    const l2n = l2o && {
      commandTimeoutMs: num('l2.commandTimeoutMs', l2o.commandTimeoutMs, 1_000, 1, 600_000),
      connectTimeoutMs: num('l2.connectTimeoutMs', l2o.connectTimeoutMs, 2_000, 1, 600_000),
      maxReconnectDelayMs: num('l2.maxReconnectDelayMs', l2o.maxReconnectDelayMs, 1_000, 10, 600_000),
      breakerOpenMs: num('l2.breakerOpenMs', l2o.breakerOpenMs, 5_000, 0, YEAR_MS),
    };

    // Resources last, and released again if anything below fails.
    try {
      if (l3cfg) this.l3 = new DiskLayer(l3cfg);
      if (l2o && l2n) {
        const l2 = l2o;
        const prefix = l2.prefix ?? `code:cache:${name}:`;
        if (!layers.RedisLayer) throw new CacheError('CACHE_OPTIONS_INVALID', 'an L2 cache is built by createCache(), which loads the Redis client', { key: 'l2' });
        this.l2 = new layers.RedisLayer({
          url: l2.url,
          prefix,
          commandTimeoutMs: l2n.commandTimeoutMs,
          connectTimeoutMs: l2n.connectTimeoutMs,
          maxReconnectDelayMs: l2n.maxReconnectDelayMs,
          onEvent: (event, err) => this.onL2Event(event, err),
        });
        if (l2.breaker) this.breaker = l2.breaker;
        else {
          this.ownBreaker = new CircuitBreaker({
            name: `cache-l2-${name}`,
            consecutiveFailures: 3,
            minimumCalls: 20,
            openMs: l2n.breakerOpenMs,
            ...(opts.metrics ? { metrics: opts.metrics } : {}),
          });
          this.breaker = this.ownBreaker;
        }
        this.breaker.onChange?.((state, previous) => {
          if (state.kind === 'open') this.warn(`L2 breaker opened (${state.reason}); serving from L1/L3`, { cache: name, reason: state.reason });
          else if (state.kind === 'closed' && previous.kind !== 'closed') this.warn('L2 breaker closed: Redis is back', { cache: name });
        });
        this.leases = l2.leases ?? true;
        if (l2.bus ?? true) {
          this.bus = new InvalidationBus({
            subscriber: this.l2.subscriber(),
            publisher: this.l2.client,
            channel: `${prefix}bus`,
            instanceId: this.instanceId,
            onMessage: (msg) => this.onBus(msg),
            onReconnect: () => this.onBusReconnect(),
            onWarning: this.warn,
          });
        }
      } else {
        this.leases = false;
      }

      if (opts.metrics) this.metrics = new CacheMetrics(opts.metrics, this);
      if (this.hot !== undefined) this.timers.push(setInterval(() => void this.persistHot().catch(() => undefined), this.hotEvery));
      // Once a second: copy counters to the registry, notice a cache.l2 flag switched back on while idle.
      this.timers.push(
        setInterval(() => {
          this.metrics?.flush();
          this.checkFlags();
        }, 1_000),
      );
    } catch (err) {
      this.bus?.close().catch(() => undefined);
      this.l2?.client.disconnect();
      this.l3?.close().catch(() => undefined);
      for (const t of this.timers) clearInterval(t);
      throw err;
    }
    for (const t of this.timers) t.unref();
  }

  /** Waits for Redis (up to its connect timeout; the cache works without it) and warms L1. */
  async start(): Promise<this> {
    if (this.l2) {
      const ok = await this.l2.waitReady(this.l2.client.options.connectTimeout ?? 2_000);
      if (ok && this.bus) await this.bus.waitReady(1_000);
      if (!ok) this.warn('Redis (L2) is not reachable at start-up; running on L1/L3 until it is', { cache: this.name });
    }
    if (this.warmOnStart) await this.warm();
    return this;
  }

  // ---- the hot path ----------------------------------------------------------------------------------

  getSync<T = unknown>(key: string): T | undefined {
    const l1 = this.l1;
    if (l1 !== undefined) {
      const e = l1.lru.get(key);
      if (e !== undefined && e.ns === '' && (e.freshUntil === Infinity || e.freshUntil > coarseNow())) {
        this.l1Hits++;
        if ((++this.tick & this.sampleMask) === 0) this.sample(key);
        return e.value as T;
      }
    }
    return this.syncMiss(key) as T | undefined;
  }

  /** Same as getSync. */
  peek<T = unknown>(key: string): T | undefined {
    return this.getSync<T>(key);
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    const l1 = this.l1;
    if (l1 !== undefined) {
      const e = l1.lru.get(key);
      if (e !== undefined && e.ns === '' && (e.freshUntil === Infinity || e.freshUntil > coarseNow())) {
        this.l1Hits++;
        if ((++this.tick & this.sampleMask) === 0) this.sample(key);
        return Promise.resolve(e.value as T);
      }
    }
    return this.getSlow(key, key, '') as Promise<T | undefined>;
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    const l1 = this.l1;
    if (l1 !== undefined) {
      const e = l1.lru.get(key);
      if (e !== undefined && e.ns === '' && (e.freshUntil === Infinity || e.freshUntil > coarseNow())) {
        this.l1Hits++;
        if ((++this.tick & this.sampleMask) === 0) this.sample(key);
        return Promise.resolve(e.value as T);
      }
    }
    return this.getOrSetSlow(key, key, '', factory as Factory<unknown>, options) as Promise<T>;
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return this.getManyIn('', keys) as Promise<Array<T | undefined>>;
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    return this.setIn('', key, value, options);
  }

  setMany(entries: readonly SetManyEntry[]): Promise<void> {
    return this.setManyIn('', entries);
  }

  delete(key: string): Promise<void> {
    return this.deleteManyIn('', [key]);
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.deleteManyIn('', keys);
  }

  deleteByTag(tags: string | readonly string[]): Promise<void> {
    return this.deleteByTagIn('', tags);
  }

  clear(): Promise<void> {
    return this.clearIn('');
  }

  namespace(name: string): Cache {
    checkNamespace(name);
    return new CacheNamespace(this, name, name + NS_SEP);
  }

  // ---- internals shared with namespaces ------------------------------------------------------------

  /** @internal L1 lookup of a namespaced key. */
  hitIn(prefix: string, stored: string): { value: unknown } | undefined {
    const l1 = this.l1;
    if (l1 === undefined) return undefined;
    const e = l1.lru.get(stored);
    if (e !== undefined && e.ns === prefix && (e.freshUntil === Infinity || e.freshUntil > coarseNow())) {
      this.l1Hits++;
      if ((++this.tick & this.sampleMask) === 0) this.sample(stored);
      return e;
    }
    return undefined;
  }

  /** @internal */
  syncMiss(key: string): undefined {
    this.checkOpen();
    checkKey(key, this.maxKeyLength);
    if (this.l1 !== undefined) this.l1Misses++;
    this.missed++;
    return undefined;
  }

  /** @internal */
  async getSlow(stored: string, key: string, _prefix: string): Promise<unknown> {
    this.checkOpen();
    checkKey(key, this.maxKeyLength);
    if (this.l1 !== undefined) this.l1Misses++;
    if ((++this.tick & this.sampleMask) === 0) this.sample(stored);
    const found = await this.readLower(stored);
    if (found !== undefined && found.expiresAt > Date.now()) {
      this.lowerServed++;
      this.promote(stored, found, found.epoch);
      if (this.rules.length > 0) this.prefetchFor(stored);
      return found.value;
    }
    this.missed++;
    return undefined;
  }

  /** @internal */
  async getOrSetSlow(stored: string, key: string, prefix: string, factory: Factory<unknown>, options: GetOrSetOptions | undefined): Promise<unknown> {
    this.checkOpen();
    checkKey(key, this.maxKeyLength);
    if (typeof factory !== 'function') throw new CacheError('CACHE_OPTIONS_INVALID', `getOrSet(${JSON.stringify(key.slice(0, 80))}) needs a factory function`, { key: key.slice(0, 80) });
    const o = this.resolve(options, prefix);
    if ((++this.tick & this.sampleMask) === 0) this.sample(stored);
    if (this.l1 !== undefined) {
      this.l1Misses++;
      const e = this.l1.lru.get(stored);
      if (e !== undefined && e.ns === prefix && e.staleUntil > Date.now()) {
        this.staleServed++;
        return this.serveStale(stored, key, factory, o, { value: e.value, version: versionOf(e.writeId) });
      }
    }
    const running = this.inflight.get(stored);
    if (running !== undefined) {
      this.coalesced++;
      return running;
    }
    const p = this.loadOrProduce(stored, key, prefix, factory, o);
    this.inflight.set(stored, p);
    const done = (): void => {
      if (this.inflight.get(stored) === p) this.inflight.delete(stored);
    };
    p.then(done, done);
    return p;
  }

  private async loadOrProduce(stored: string, key: string, prefix: string, factory: Factory<unknown>, o: Resolved): Promise<unknown> {
    const found = await this.readLower(stored);
    if (found !== undefined) {
      const now = Date.now();
      if (found.expiresAt > now) {
        this.lowerServed++;
        this.promote(stored, found, found.epoch, prefix);
        if (this.rules.length > 0) this.prefetchFor(stored);
        return found.value;
      }
      if (found.staleUntil > now) {
        this.staleServed++;
        this.promote(stored, found, found.epoch, prefix);
        return this.serveStale(stored, key, factory, o, { value: found.value, version: versionOf(found.writeId) });
      }
    }
    this.missed++;
    const value = await this.produce(stored, key, prefix, factory, o, undefined);
    if (this.rules.length > 0) this.prefetchFor(stored);
    return value;
  }

  private serveStale(stored: string, key: string, factory: Factory<unknown>, o: Resolved, stale: Stale): Promise<unknown> {
    let p = this.refreshing.get(stored);
    if (p === undefined) {
      p = this.produce(stored, key, nsOf(stored), factory, o, stale);
      this.refreshing.set(stored, p);
      const done = (): void => {
        if (this.refreshing.get(stored) === p) this.refreshing.delete(stored);
      };
      p.then(done, done);
    }
    if (o.softTimeout <= 0) return Promise.resolve(stale.value);
    const refresh = p;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(stale.value), o.softTimeout);
      refresh.then(
        (v) => {
          clearTimeout(timer);
          resolve(v === undefined ? stale.value : v);
        },
        () => {
          clearTimeout(timer);
          resolve(stale.value);
        },
      );
    });
  }

  /**
   * Produces a fresh value: across processes under an L2 lease when Redis is there, else directly.
   * `stale` set → a refresh: never waits for another holder (the stale value is served meanwhile).
   */
  private async produce(stored: string, key: string, prefix: string, factory: Factory<unknown>, o: Resolved, stale: Stale | undefined): Promise<unknown> {
    if (!this.leases || !this.l2On()) return this.runAndStore(stored, key, prefix, factory, o, stale, undefined);
    const l2 = this.l2!;
    const deadline = Date.now() + (o.hardTimeout === Infinity ? this.leaseMs : o.hardTimeout + this.leaseMs);
    let delay = 5;
    for (let round = 0; ; round++) {
      let r: AcquireResult;
      const epoch = this.busEpoch;
      try {
        r = await this.breaker!.execute(l2.ready ? () => l2.acquire(stored, this.leaseMs, stale?.version) : this.unavailable);
      } catch (err) {
        this.l2Failure(err);
        return this.runAndStore(stored, key, prefix, factory, o, stale, undefined);
      }
      if (r.kind === 'acquired') return this.runAndStore(stored, key, prefix, factory, o, stale, r.token);
      if (r.kind === 'value') {
        const d = this.decodeOrDrop(r.payload, stored, 'l2');
        if (d !== undefined) {
          const now = Date.now();
          if (d.expiresAt > now) {
            this.promote(stored, d, epoch, prefix);
            this.l3Backfill(stored, d, r.payload, epoch);
            return d.value;
          }
          // Rewritten by somebody, and already stale again: refresh that version.
          if (d.staleUntil > now) stale = { value: d.value, version: versionOf(d.writeId) };
        }
        if (round > 20) return this.runAndStore(stored, key, prefix, factory, o, stale, undefined);
        continue;
      }
      // Somebody else holds the lease.
      if (stale !== undefined) return stale.value;
      if (round === 0) this.leaseWaits++;
      if (Date.now() >= deadline) {
        throw new CacheError('CACHE_FACTORY_TIMEOUT', `waited ${o.hardTimeout + this.leaseMs} ms for another instance to produce ${JSON.stringify(key.slice(0, 80))}`, { key: key.slice(0, 80) });
      }
      await this.waitFor(stored, Math.max(1, Math.min(r.pttl > 0 ? r.pttl : delay, delay)));
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Resolves when the bus says `stored` changed or its lease was released, or after `ms`. */
  private waitFor(stored: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(stored);
      if (set === undefined) this.waiters.set(stored, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        const s = this.waiters.get(stored);
        if (s !== undefined) {
          s.delete(wake);
          if (s.size === 0) this.waiters.delete(stored);
        }
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private wake(stored: string): void {
    const set = this.waiters.get(stored);
    if (set !== undefined) for (const w of [...set]) w();
  }

  private async runAndStore(stored: string, key: string, prefix: string, factory: Factory<unknown>, o: Resolved, stale: Stale | undefined, token: number | undefined): Promise<unknown> {
    let value: unknown;
    try {
      value = await this.runFactory(key, factory, o, stale);
    } catch (err) {
      if (token !== undefined) this.releaseLease(stored, token);
      if (stale !== undefined) {
        // Serve the old value and leave the failing source alone for a while.
        this.staleServed++;
        const e = this.l1?.lru.peek(stored);
        if (e !== undefined) e.freshUntil = Math.max(e.freshUntil, Math.min(Date.now() + this.graceBackoffMs, e.staleUntil));
        return stale.value;
      }
      throw err;
    }
    if (value === undefined) {
      if (token !== undefined) this.releaseLease(stored, token);
      return undefined;
    }
    let payload: Buffer;
    const writeId = newWriteId();
    let expiresAt: number;
    let staleUntil: number;
    try {
      const now = Date.now();
      expiresAt = now + o.ttl;
      staleUntil = expiresAt + o.grace;
      payload = this.codec.encode(value, expiresAt, staleUntil, writeId, o.tags, this.flagCompression(), stored);
    } catch (err) {
      if (token !== undefined) this.releaseLease(stored, token);
      throw err;
    }
    const ttl = staleUntil - Date.now();
    if (token !== undefined) {
      const l2 = this.l2!;
      let written: boolean | undefined;
      try {
        written = await this.breaker!.execute(l2.ready ? () => l2.fencedSet(stored, token, payload, ttl, o.tags) : this.unavailable);
      } catch (err) {
        this.l2Failure(err);
        this.markDirty(stored, 's');
      }
      if (written === false) {
        // The lease expired under us and somebody else owns the key now: their write stands.
        this.leaseLost++;
        return value;
      }
      this.writeLocal(stored, prefix, value, payload, expiresAt, staleUntil, writeId, o.tags, ttl);
      if (written === true) this.bus?.publish('s', [stored], [writeId]);
      return value;
    }
    this.writeLocal(stored, prefix, value, payload, expiresAt, staleUntil, writeId, o.tags, ttl);
    await this.writeL2([{ key: stored, payload, ttlMs: ttl, tags: o.tags }]);
    return value;
  }

  private runFactory(key: string, factory: Factory<unknown>, o: Resolved, stale: Stale | undefined): Promise<unknown> {
    this.factoryRuns++;
    const ac = new AbortController();
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (o.hardTimeout !== Infinity) {
        timer = setTimeout(() => {
          this.factoryTimeouts++;
          const err = new CacheError('CACHE_FACTORY_TIMEOUT', `factory for ${JSON.stringify(key.slice(0, 80))} took longer than ${o.hardTimeout} ms`, { key: key.slice(0, 80), timeoutMs: o.hardTimeout });
          ac.abort(err);
          reject(err);
        }, o.hardTimeout);
        timer.unref();
      }
      new Promise((r) => r(factory({ key, signal: ac.signal, stale: stale?.value }))).then(
        (v) => {
          clearTimeout(timer);
          this.metrics?.factoryDuration(performance.now() - started);
          resolve(v);
        },
        (err) => {
          clearTimeout(timer);
          if (!ac.signal.aborted) this.factoryErrors++;
          reject(err);
        },
      );
    });
  }

  private releaseLease(stored: string, token: number): void {
    const l2 = this.l2;
    if (l2 === undefined || !l2.ready) return;
    l2.release(stored, token).then(
      () => this.bus?.publish('r', [stored]),
      () => undefined,
    );
  }

  // ---- lower layers --------------------------------------------------------------------------------

  private l2On(): boolean {
    if (this.l2 === undefined) return false;
    const on = this.flagL2();
    if (on !== this.lastL2Flag) {
      this.lastL2Flag = on;
      if (on) queueMicrotask(() => void this.replay());
    }
    return on;
  }

  /**
   * Re-reads the flags now. The cache notices a change on its next L2 operation or within a second;
   * call this from the flag's onChange to replay writes missed while `cache.l2` was off at once.
   */
  checkFlags(): void {
    if (!this.closed) this.l2On();
  }

  /**
   * One read of the layers below L1. An L2 read is shared by every caller asking for `stored`
   * meanwhile; an L3 read is synchronous and needs no sharing.
   */
  private readLower(stored: string): Promise<Found | undefined> {
    if (!this.l2On()) return Promise.resolve(this.readL3(stored, this.busEpoch));
    const running = this.reads.get(stored);
    if (running !== undefined) return running;
    const p = this.readL2(stored);
    this.reads.set(stored, p); // readL2 always awaits before its `finally` removes this entry
    return p;
  }

  private async readL2(stored: string): Promise<Found | undefined> {
    const epoch = this.busEpoch;
    const l2 = this.l2!;
    const started = this.metrics === undefined ? 0 : performance.now();
    let buf: Buffer | null;
    try {
      buf = await this.breaker!.execute(l2.ready ? () => l2.getRaw(stored) : this.unavailable);
    } catch (err) {
      this.l2Failure(err);
      return this.readL3(stored, epoch);
    } finally {
      this.reads.delete(stored);
    }
    if (this.metrics !== undefined) this.metrics.opDuration('l2', 'get', performance.now() - started);
    if (buf !== null) {
      const d = this.decodeOrDrop(buf, stored, 'l2');
      if (d !== undefined) {
        this.l2Hits++;
        if (this.l3 !== undefined) this.l3Backfill(stored, d, buf, epoch);
        d.epoch = epoch;
        return d;
      }
    }
    this.l2Misses++;
    return undefined; // L2 answered: it is the authority, a local L3 copy may be one it deleted
  }

  private readL3(stored: string, epoch: number): Found | undefined {
    const l3 = this.l3;
    if (l3 === undefined) return undefined;
    const started = this.metrics === undefined ? 0 : performance.now();
    const buf = l3.getSync(stored);
    if (this.metrics !== undefined) this.metrics.opDuration('l3', 'get', performance.now() - started);
    if (buf !== undefined) {
      const d = this.decodeOrDrop(buf, stored, 'l3');
      if (d !== undefined) {
        this.l3Hits++;
        d.epoch = epoch;
        return d;
      }
    }
    this.l3Misses++;
    return undefined;
  }

  /** MGET (one round trip) or L3 reads for many keys; undefined where nothing usable was found. */
  private async readLowerMany(stored: readonly string[], count: boolean): Promise<Array<Decoded | undefined>> {
    this.manyReads++;
    try {
      return await this.readLowerManyNow(stored, count);
    } finally {
      this.manyReads--;
    }
  }

  private async readLowerManyNow(stored: readonly string[], count: boolean): Promise<Array<Decoded | undefined>> {
    const epoch = this.busEpoch;
    const out = new Array<Decoded | undefined>(stored.length).fill(undefined);
    if (this.l2On()) {
      const l2 = this.l2!;
      let bufs: Array<Buffer | undefined> | undefined;
      const started = performance.now();
      try {
        bufs = await this.breaker!.execute(l2.ready ? () => l2.getMany(stored) : this.unavailable);
      } catch (err) {
        this.l2Failure(err);
      }
      if (bufs !== undefined) {
        this.metrics?.opDuration('l2', 'mget', performance.now() - started);
        for (let i = 0; i < stored.length; i++) {
          const buf = bufs[i];
          const d = buf === undefined ? undefined : this.decodeOrDrop(buf, stored[i]!, 'l2');
          out[i] = d;
          if (count) {
            if (d !== undefined) this.l2Hits++;
            else this.l2Misses++;
          }
          if (d !== undefined) this.l3Backfill(stored[i]!, d, buf!, epoch);
        }
        return out;
      }
    }
    const l3 = this.l3;
    if (l3 !== undefined) {
      const bufs = l3.getManySync(stored);
      for (let i = 0; i < stored.length; i++) {
        const buf = bufs[i];
        const d = buf === undefined ? undefined : this.decodeOrDrop(buf, stored[i]!, 'l3');
        out[i] = d;
        if (count) {
          if (d !== undefined) this.l3Hits++;
          else this.l3Misses++;
        }
      }
    }
    return out;
  }

  private decodeOrDrop(buf: Buffer, stored: string, layer: 'l2' | 'l3'): Decoded | undefined {
    try {
      return this.codec.decode(buf);
    } catch (err) {
      this.decodeErrors++;
      if (this.decodeErrors <= 10) this.warn(`dropping an undecodable ${layer} entry: ${(err as Error).message}`, { cache: this.name, layer, key: stored.slice(0, 80) });
      if (layer === 'l3') this.l3?.deleteSync([stored]);
      else if (this.l2?.ready) this.l2.delete([stored]).catch(() => undefined);
      return undefined;
    }
  }

  /**
   * Records that `keys` (undefined: possibly any key) changed, here or on another instance, so reads
   * already under way do not put what they read into L1/L3.
   */
  private noteChange(keys: readonly string[] | undefined, ids?: readonly number[]): void {
    const e = ++this.busEpoch;
    if (this.reads.size === 0 && this.inflight.size === 0 && this.refreshing.size === 0 && this.manyReads === 0) {
      if (this.lastEvicted.size > 0) this.lastEvicted.clear(); // nothing under way started before this
      return;
    }
    if (keys === undefined || this.lastEvicted.size + keys.length > 10_000) {
      this.lastEvicted.clear();
      this.floorEpoch = e;
    } else for (let i = 0; i < keys.length; i++) this.lastEvicted.set(keys[i]!, { epoch: e, writeId: ids?.[i] ?? 0 });
  }

  /**
   * True when `stored` changed after a read that started at `epoch` and what was read is not that
   * change (a read that returns the very write announced is current, not raced).
   */
  private raced(stored: string, epoch: number, writeId: number): boolean {
    if (epoch < this.floorEpoch) return true;
    const last = this.lastEvicted.get(stored);
    return last !== undefined && last.epoch > epoch && last.writeId !== writeId;
  }

  private promote(stored: string, d: Decoded, epoch: number, prefix = nsOf(stored)): void {
    if (this.l1 === undefined || this.raced(stored, epoch, d.writeId)) return;
    this.l1.set(stored, { value: d.value, ns: prefix, freshUntil: d.expiresAt, expiresAt: d.expiresAt, staleUntil: d.staleUntil, writeId: d.writeId, writtenAt: d.writtenAt, tags: d.tags, size: d.size });
  }

  /** An L2 hit is written to L3 too (batched, next tick), so L3 can answer while Redis is down. */
  private l3Backfill(stored: string, d: Decoded, buf: Buffer, epoch: number): void {
    if (this.l3 === undefined || this.raced(stored, epoch, d.writeId)) return;
    const ttl = d.staleUntil - Date.now();
    if (ttl > 0) this.l3.setSync(stored, buf, ttl, d.tags);
  }

  private writeLocal(stored: string, prefix: string, value: unknown, payload: Buffer, expiresAt: number, staleUntil: number, writeId: number, tags: readonly string[] | undefined, ttl: number): void {
    this.noteChange([stored], [writeId]);
    this.l1?.set(stored, { value, ns: prefix, freshUntil: expiresAt, expiresAt, staleUntil, writeId, writtenAt: payload.readDoubleBE(25), tags, size: payload.length });
    this.l3?.setSync(stored, payload, ttl, tags);
  }

  private async writeL2(entries: LayerEntry[]): Promise<void> {
    if (this.l2 === undefined) return;
    if (!this.l2On()) {
      for (const e of entries) this.markDirty(e.key, 's');
      return;
    }
    const l2 = this.l2;
    const started = performance.now();
    try {
      if (entries.length === 1) {
        const e = entries[0]!;
        await this.breaker!.execute(l2.ready ? () => l2.set(e.key, e.payload, e.ttlMs, e.tags) : this.unavailable);
      } else {
        await this.breaker!.execute(l2.ready ? () => l2.setMany(entries) : this.unavailable);
      }
    } catch (err) {
      this.l2Failure(err);
      for (const e of entries) this.markDirty(e.key, 's');
      return;
    }
    this.metrics?.opDuration('l2', 'set', performance.now() - started);
    this.bus?.publish(
      's',
      entries.map((e) => e.key),
      entries.map((e) => e.payload.readDoubleBE(17)),
    );
  }

  private l2Failure(err: unknown): void {
    if (isCacheError(err, 'CACHE_L2_UNAVAILABLE') || (err as { code?: string })?.code === 'RESILIENCE_BREAKER_OPEN') this.l2Skipped++;
    else this.l2Errors++;
  }

  private markDirty(stored: string, kind: 's' | 'd'): void {
    if (this.l2 === undefined) return;
    if (!this.dirty.has(stored) && this.dirty.size + this.dirtyTags.size + this.dirtyClears.size >= MAX_DIRTY) {
      if (!this.dirtyOverflow) this.warn(`more than ${MAX_DIRTY} writes missed Redis; the oldest are not replayed (other instances may read stale L2 values until they expire)`, { cache: this.name });
      this.dirtyOverflow = true;
      return;
    }
    this.dirty.set(stored, kind);
  }

  private onL2Event(event: 'ready' | 'close' | 'error', err?: Error): void {
    if (event === 'ready') {
      if (this.l2Down) this.warn('Redis (L2) connection is back', { cache: this.name });
      this.l2Down = false;
      // Redis answering again is better evidence than the breaker's timer: close it now.
      const st = this.breaker?.state;
      if (st !== undefined && st.kind !== 'closed' && !(st.kind === 'open' && st.reason === 'isolated')) this.breaker?.reset?.();
      void this.replay();
    } else if (!this.l2Down && !this.closed) {
      this.l2Down = true;
      this.warn(`Redis (L2) connection lost${err ? `: ${err.message}` : ''}; serving from L1/L3`, { cache: this.name });
    }
  }

  /** Makes L2 agree with what was written here while it could not be reached. */
  private async replay(): Promise<void> {
    const l2 = this.l2;
    if (l2 === undefined || this.replaying || this.closed || !l2.ready || !this.flagL2()) return;
    if (this.dirty.size === 0 && this.dirtyTags.size === 0 && this.dirtyClears.size === 0) return;
    this.replaying = true;
    const clears = [...this.dirtyClears];
    const tags = [...this.dirtyTags];
    const dirty = [...this.dirty];
    this.dirtyClears.clear();
    this.dirtyTags.clear();
    this.dirty.clear();
    this.dirtyOverflow = false;
    try {
      for (const prefix of clears) await l2.clear(prefix);
      if (clears.length > 0) this.bus?.publish('c', clears);
      if (tags.length > 0) {
        await l2.deleteByTags(tags);
        this.bus?.publish('t', tags);
      }
      const dels = dirty.filter(([, k]) => k === 'd').map(([key]) => key);
      if (dels.length > 0) {
        await l2.delete(dels);
        this.bus?.publish('d', dels);
      }
      const sets: LayerEntry[] = [];
      for (const [key, kind] of dirty) {
        if (kind !== 's') continue;
        const local = this.localPayload(key);
        if (local !== undefined && local.ttl > 0) sets.push({ key, payload: local.payload, ttlMs: local.ttl, tags: local.tags });
      }
      // Unless Redis holds a value written later than ours (by another instance meanwhile): that one
      // wins and our local copies go.
      for (let i = 0; i < sets.length; i += this.maxBatch) {
        const chunk = sets.slice(i, i + this.maxBatch);
        const written = await Promise.all(chunk.map((e) => l2.setUnlessNewer(e.key, e.payload, e.ttlMs, e.tags)));
        const won = chunk.filter((_, j) => written[j]);
        const lost = chunk.filter((_, j) => !written[j]).map((e) => e.key);
        for (const k of lost) this.l1?.delete(k);
        if (lost.length > 0) this.l3?.deleteSync(lost);
        if (won.length > 0) {
          this.bus?.publish(
            's',
            won.map((e) => e.key),
            won.map((e) => e.payload.readDoubleBE(17)),
          );
        }
      }
      this.replays++;
    } catch (err) {
      // Put it back; the next reconnect tries again.
      for (const p of clears) this.dirtyClears.add(p);
      for (const t of tags) this.dirtyTags.add(t);
      for (const [k, v] of dirty) if (!this.dirty.has(k)) this.dirty.set(k, v);
      this.warn(`replaying writes to Redis failed: ${(err as Error).message}`, { cache: this.name });
    } finally {
      this.replaying = false;
    }
  }

  private localPayload(stored: string): { payload: Buffer; ttl: number; tags: readonly string[] | undefined } | undefined {
    const now = Date.now();
    const e = this.l1?.lru.peek(stored);
    if (e !== undefined) {
      try {
        return { payload: this.codec.encode(e.value, e.expiresAt, e.staleUntil, e.writeId, e.tags, this.flagCompression(), stored, e.writtenAt), ttl: e.staleUntil - now, tags: e.tags };
      } catch {
        return undefined;
      }
    }
    const buf = this.l3?.getSync(stored);
    if (buf === undefined) return undefined;
    const d = this.decodeOrDrop(buf, stored, 'l3');
    return d === undefined ? undefined : { payload: buf, ttl: d.staleUntil - now, tags: d.tags };
  }

  // ---- bus -----------------------------------------------------------------------------------------

  private onBus(msg: BusMessage): void {
    const l1 = this.l1;
    if (msg.kind === 's') this.noteChange(msg.items, msg.ids);
    else if (msg.kind === 'd') this.noteChange(msg.items);
    else if (msg.kind !== 'r') this.noteChange(undefined);
    switch (msg.kind) {
      case 's':
        for (let i = 0; i < msg.items.length; i++) {
          const k = msg.items[i]!;
          // A copy of the very write announced stays; anything else is older (or newer, and then
          // its own message follows): drop it.
          if (l1 !== undefined && (msg.ids === undefined || l1.lru.peek(k)?.writeId !== msg.ids[i])) l1.delete(k);
          this.wake(k);
        }
        break;
      case 'd':
        for (const k of msg.items) {
          l1?.delete(k);
          this.wake(k);
        }
        this.l3?.deleteSync(msg.items);
        break;
      case 'r':
        for (const k of msg.items) this.wake(k);
        break;
      case 't':
        l1?.deleteByTags(msg.items);
        this.l3?.deleteByTagsSync(msg.items);
        break;
      case 'c':
        for (const p of msg.items) {
          l1?.clear(p);
          this.l3?.clearSync(p);
        }
        break;
    }
  }

  private onBusReconnect(): void {
    if (this.l1 === undefined) return;
    const n = this.l1.clear();
    this.l1Drops++;
    this.warn(`invalidation bus reconnected: dropped L1 (${n} entries) in case messages were missed`, { cache: this.name, entries: n });
  }

  // ---- the rest of the API, namespaced -------------------------------------------------------------

  private resolve(options: SetOptions & GetOrSetOptions | undefined, prefix: string): Resolved {
    if (options === undefined) return this.defaults;
    if (typeof options !== 'object' || options === null) throw new CacheError('CACHE_OPTIONS_INVALID', 'cache call options must be an object', {});
    const d = this.defaults;
    let tags: string[] | undefined;
    if (options.tags !== undefined) {
      if (!Array.isArray(options.tags) || options.tags.length > this.maxTags) {
        throw new CacheError('CACHE_OPTIONS_INVALID', `tags must be an array of at most ${this.maxTags} tags`, { key: 'tags', limit: this.maxTags });
      }
      tags = [];
      for (const t of options.tags as unknown[]) {
        checkKey(t, this.maxKeyLength, 'tag');
        tags.push(prefix + t);
      }
      if (tags.length === 0) tags = undefined;
    }
    return {
      ttl: num('ttl', options.ttl, d.ttl, 1, YEAR_MS * 100, true),
      grace: num('grace', options.grace, d.grace, 0, YEAR_MS * 100),
      tags,
      softTimeout: num('softTimeout', options.softTimeout, d.softTimeout, 0, YEAR_MS),
      hardTimeout: num('hardTimeout', options.hardTimeout, d.hardTimeout, 1, YEAR_MS, true),
    };
  }

  private storedKeys(prefix: string, keys: readonly string[]): string[] {
    if (!Array.isArray(keys)) throw new CacheError('CACHE_OPTIONS_INVALID', 'expected an array of keys', {});
    if (keys.length > this.maxBatch) throw new CacheError('CACHE_BATCH_TOO_LARGE', `${keys.length} keys in one call (limit ${this.maxBatch})`, { count: keys.length, limit: this.maxBatch });
    const out = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      checkKey(keys[i], this.maxKeyLength);
      out[i] = prefix + keys[i];
    }
    return out;
  }

  /** @internal */
  async getManyIn(prefix: string, keys: readonly string[]): Promise<unknown[]> {
    this.checkOpen();
    const stored = this.storedKeys(prefix, keys);
    const out = new Array<unknown>(stored.length).fill(undefined);
    const missing: number[] = [];
    const l1 = this.l1;
    const now = Date.now();
    for (let i = 0; i < stored.length; i++) {
      const e = l1?.lru.get(stored[i]!);
      if (e !== undefined && e.ns === prefix && e.freshUntil > now) {
        this.l1Hits++;
        out[i] = e.value;
      } else missing.push(i);
    }
    if (missing.length === 0) return out;
    if (l1 !== undefined) this.l1Misses += missing.length;
    const want = missing.map((i) => stored[i]!);
    const epoch = this.busEpoch;
    const found = await this.readLowerMany(want, true);
    const t = Date.now();
    for (let j = 0; j < missing.length; j++) {
      const d = found[j];
      if (d !== undefined && d.expiresAt > t) {
        this.lowerServed++;
        out[missing[j]!] = d.value;
        this.promote(want[j]!, d, epoch, prefix);
      } else this.missed++;
    }
    return out;
  }

  /** @internal */
  async setIn(prefix: string, key: string, value: unknown, options: SetOptions | undefined): Promise<void> {
    this.checkOpen();
    checkKey(key, this.maxKeyLength);
    const stored = prefix + key;
    const o = this.resolve(options, prefix);
    const now = Date.now();
    const expiresAt = now + o.ttl;
    const staleUntil = expiresAt + o.grace;
    const writeId = newWriteId();
    const payload = this.codec.encode(value, expiresAt, staleUntil, writeId, o.tags, this.flagCompression(), stored);
    const ttl = staleUntil - now;
    this.writeLocal(stored, prefix, value, payload, expiresAt, staleUntil, writeId, o.tags, ttl);
    await this.writeL2([{ key: stored, payload, ttlMs: ttl, tags: o.tags }]);
  }

  /** @internal */
  async setManyIn(prefix: string, entries: readonly SetManyEntry[]): Promise<void> {
    this.checkOpen();
    if (!Array.isArray(entries)) throw new CacheError('CACHE_OPTIONS_INVALID', 'setMany expects an array of { key, value } entries', {});
    if (entries.length > this.maxBatch) throw new CacheError('CACHE_BATCH_TOO_LARGE', `${entries.length} entries in one call (limit ${this.maxBatch})`, { count: entries.length, limit: this.maxBatch });
    const now = Date.now();
    // Check and encode everything first: a bad entry refuses the whole batch, nothing half-written.
    const prepared = entries.map((e, i) => {
      if (typeof e !== 'object' || e === null) throw new CacheError('CACHE_OPTIONS_INVALID', `setMany entry ${i} is not an object`, { index: i });
      checkKey(e.key, this.maxKeyLength);
      const stored = prefix + e.key;
      const o = this.resolve(e, prefix);
      const expiresAt = now + o.ttl;
      const staleUntil = expiresAt + o.grace;
      const writeId = newWriteId();
      return { stored, value: e.value, o, expiresAt, staleUntil, writeId, payload: this.codec.encode(e.value, expiresAt, staleUntil, writeId, o.tags, this.flagCompression(), stored) };
    });
    for (const p of prepared) this.writeLocal(p.stored, prefix, p.value, p.payload, p.expiresAt, p.staleUntil, p.writeId, p.o.tags, p.staleUntil - now);
    if (prepared.length > 0) await this.writeL2(prepared.map((p) => ({ key: p.stored, payload: p.payload, ttlMs: p.staleUntil - now, tags: p.o.tags })));
  }

  /** @internal */
  async deleteManyIn(prefix: string, keys: readonly string[]): Promise<void> {
    this.checkOpen();
    const stored = this.storedKeys(prefix, keys);
    if (stored.length === 0) return;
    this.noteChange(stored);
    for (const k of stored) this.l1?.delete(k);
    this.l3?.deleteSync(stored);
    if (this.l2 === undefined) return;
    if (!this.l2On()) {
      for (const k of stored) this.markDirty(k, 'd');
      return;
    }
    const l2 = this.l2;
    try {
      await this.breaker!.execute(l2.ready ? () => l2.delete(stored) : this.unavailable);
      this.bus?.publish('d', stored);
    } catch (err) {
      this.l2Failure(err);
      for (const k of stored) this.markDirty(k, 'd');
    }
  }

  /** @internal */
  async deleteByTagIn(prefix: string, tags: string | readonly string[]): Promise<void> {
    this.checkOpen();
    const list = typeof tags === 'string' ? [tags] : tags;
    if (!Array.isArray(list) || list.length > this.maxBatch) throw new CacheError('CACHE_BATCH_TOO_LARGE', `deleteByTag takes 1..${this.maxBatch} tags`, { limit: this.maxBatch });
    const stored = list.map((t: unknown) => {
      checkKey(t, this.maxKeyLength, 'tag');
      return prefix + t;
    });
    if (stored.length === 0) return;
    this.noteChange(undefined);
    this.l1?.deleteByTags(stored);
    this.l3?.deleteByTagsSync(stored);
    if (this.l2 === undefined) return;
    if (!this.l2On()) {
      for (const t of stored) this.dirtyTags.add(t);
      return;
    }
    const l2 = this.l2;
    try {
      await this.breaker!.execute(l2.ready ? () => l2.deleteByTags(stored) : this.unavailable);
      this.bus?.publish('t', stored);
    } catch (err) {
      this.l2Failure(err);
      for (const t of stored) if (this.dirtyTags.size < MAX_DIRTY) this.dirtyTags.add(t);
    }
  }

  /** @internal */
  async clearIn(prefix: string): Promise<void> {
    this.checkOpen();
    this.noteChange(undefined);
    this.l1?.clear(prefix);
    this.l3?.clearSync(prefix);
    for (const k of [...this.dirty.keys()]) if (k.startsWith(prefix)) this.dirty.delete(k);
    if (this.l2 === undefined) return;
    if (!this.l2On()) {
      this.dirtyClears.add(prefix);
      return;
    }
    const l2 = this.l2;
    try {
      await this.breaker!.execute(l2.ready ? () => l2.clear(prefix) : this.unavailable);
      this.bus?.publish('c', [prefix]);
    } catch (err) {
      this.l2Failure(err);
      this.dirtyClears.add(prefix);
    }
  }

  // ---- hot keys, warming, prefetch -----------------------------------------------------------------

  private sample(stored: string): void {
    this.hot?.record(stored);
  }

  /** Hottest keys first (stored form: namespaced keys carry their \x1f-separated prefix). */
  hotKeys(limit?: number): Array<{ key: string; count: number }> {
    return this.hot?.list(limit) ?? [];
  }

  /** Saves the hot set (to L3, else to L2) so the next start can warm from it. */
  async persistHot(): Promise<void> {
    if (this.hot === undefined || this.hot.size === 0) return;
    const blob = this.packr().pack(this.hot.list().map((e) => [e.key, e.count]));
    if (this.l3) await this.l3.writeMeta(META_HOT, blob);
    else if (this.l2On() && this.l2!.ready) await this.l2!.writeMeta(`${META_HOT}:${this.name}`, blob).catch(() => undefined);
  }

  /** Loads the persisted hot keys and the configured warm patterns from L2/L3 into L1. Returns how many. */
  async warm(): Promise<number> {
    if (this.l1 === undefined || (this.l2 === undefined && this.l3 === undefined)) return 0;
    const keys = new Set<string>();
    if (this.hot !== undefined) {
      let blob: Buffer | undefined;
      try {
        if (this.l3) blob = await this.l3.readMeta(META_HOT);
        else if (this.l2On() && this.l2!.ready) blob = await this.l2!.readMeta(`${META_HOT}:${this.name}`);
      } catch {
        blob = undefined;
      }
      if (blob !== undefined) {
        try {
          const list = this.packr().unpack(blob) as unknown;
          if (Array.isArray(list)) {
            const entries = list
              .filter((x): x is [string, number] => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'number')
              .map(([key, count]) => ({ key, count }));
            this.hot.load(entries);
            for (const e of entries) if (keys.size < this.warmMax) keys.add(e.key);
          }
        } catch {
          // a damaged hot list only costs the warm-up
        }
      }
    }
    for (const p of this.warmPatterns) {
      if (keys.size >= this.warmMax) break;
      const room = this.warmMax - keys.size;
      let found: string[] = [];
      try {
        if (this.l2On() && this.l2!.ready) found = await this.l2!.scan(p.prefix, p.pattern, room);
        else if (this.l3) found = await this.l3.scan(p.prefix, p.pattern, room);
      } catch (err) {
        this.warn(`warming pattern ${p.pattern} failed: ${(err as Error).message}`, { cache: this.name });
      }
      for (const k of found) if (keys.size < this.warmMax) keys.add(k);
    }
    const all = [...keys].filter((k) => k.length > 0);
    let n = 0;
    for (let i = 0; i < all.length; i += this.maxBatch) {
      const chunk = all.slice(i, i + this.maxBatch);
      const epoch = this.busEpoch;
      const found = await this.readLowerMany(chunk, false);
      const now = Date.now();
      for (let j = 0; j < chunk.length; j++) {
        const d = found[j];
        if (d !== undefined && d.expiresAt > now) {
          this.promote(chunk[j]!, d, epoch);
          n++;
        }
      }
    }
    this.warmed += n;
    return n;
  }

  private prefetchFor(stored: string): void {
    const l1 = this.l1!;
    for (const t of prefetchTargets(this.rules, stored)) {
      if (this.prefetchQueue.size >= 256) break;
      if (t.length > this.maxKeyLength * 2 || l1.lru.has(t) || this.reads.has(t)) continue;
      this.prefetchQueue.add(t);
    }
    if (this.prefetchQueue.size > 0 && !this.prefetchScheduled) {
      this.prefetchScheduled = true;
      setImmediate(() => void this.drainPrefetch());
    }
  }

  private async drainPrefetch(): Promise<void> {
    this.prefetchScheduled = false;
    if (this.closed) return;
    const keys = [...this.prefetchQueue];
    this.prefetchQueue.clear();
    const epoch = this.busEpoch;
    const found = await this.readLowerMany(keys, false);
    const now = Date.now();
    for (let i = 0; i < keys.length; i++) {
      const d = found[i];
      if (d !== undefined && d.expiresAt > now && !this.l1!.lru.has(keys[i]!)) {
        this.promote(keys[i]!, d, epoch);
        this.prefetched++;
      }
    }
  }

  // ---- memory pressure, stats, lifecycle -----------------------------------------------------------

  /**
   * Changes the defaults of later calls (the config keys marked live). Values are checked like the
   * constructor's; a bad one throws CACHE_OPTIONS_INVALID and nothing changes.
   */
  configure(opts: Pick<CacheOptions, 'ttlMs' | 'graceMs' | 'softTimeoutMs' | 'hardTimeoutMs' | 'graceBackoffMs'>): void {
    const d = this.defaults;
    const hardTimeout = num('hardTimeoutMs', opts.hardTimeoutMs, d.hardTimeout, 1, YEAR_MS, true);
    const next: Resolved = {
      ttl: num('ttlMs', opts.ttlMs, d.ttl, 1, YEAR_MS * 100, true),
      grace: num('graceMs', opts.graceMs, d.grace, 0, YEAR_MS * 100),
      tags: undefined,
      softTimeout: num('softTimeoutMs', opts.softTimeoutMs, d.softTimeout, 0, YEAR_MS),
      hardTimeout,
    };
    const graceBackoffMs = num('graceBackoffMs', opts.graceBackoffMs, this.graceBackoffMs, 0, YEAR_MS);
    this.defaults = next;
    this.graceBackoffMs = graceBackoffMs;
    if (!this.leaseMsFixed) this.leaseMs = Math.min(hardTimeout, YEAR_MS) + 2_000;
  }

  /** Cumulative served and missed lookups: what the hit-rate KPI differentiates over its window. */
  hitCounts(): { served: number; missed: number } {
    return { served: this.l1Hits + this.lowerServed + this.staleServed, missed: this.missed };
  }

  /** Shrinks L1 to `fraction` of its bounds (the memory monitor calls this under pressure). */
  shrinkL1(fraction: number): { evicted: number; freedBytes: number } {
    if (this.l1 === undefined) return { evicted: 0, freedBytes: 0 };
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
      throw new CacheError('CACHE_OPTIONS_INVALID', `shrinkL1 takes a fraction in 0..1, got ${String(fraction)}`, { key: 'fraction' });
    }
    const r = this.l1.shrink(fraction);
    if (r.evicted > 0) this.l1Drops++;
    return r;
  }

  /** Lifts the L1 bounds back to their configured values. */
  restoreL1(): void {
    this.l1?.restore();
  }

  hitRate(): number {
    const served = this.l1Hits + this.lowerServed + this.staleServed;
    const total = served + this.missed;
    return total === 0 ? 0 : served / total;
  }

  /** The breaker guarding L2 (to isolate Redis by hand, or read its state). */
  get l2Breaker(): L2Breaker | undefined {
    return this.breaker;
  }

  l2Available(): boolean {
    if (this.l2 === undefined || !this.flagL2() || !this.l2.ready) return false;
    const st = this.breaker?.state;
    return st === undefined || st.kind !== 'open';
  }

  /** @internal Counters kept by the layers, for the metrics copy. */
  statsRaw(): { l1Evictions: number; l3Evictions: number; busOut: number; busIn: number } {
    return {
      l1Evictions: this.l1?.evictions ?? 0,
      l3Evictions: this.l3?.stats().evictions ?? 0,
      busOut: this.bus?.published ?? 0,
      busIn: this.bus?.received ?? 0,
    };
  }

  stats(): CacheStats {
    const served = this.l1Hits + this.lowerServed + this.staleServed;
    const l1 = this.l1?.stats();
    const l3 = this.l3?.stats();
    const breakerState = this.breaker?.state;
    const out: CacheStats = {
      name: this.name,
      hitRate: this.hitRate(),
      served,
      missed: this.missed,
      staleServed: this.staleServed,
      coalesced: this.coalesced,
      l1: l1 && { hits: this.l1Hits, misses: this.l1Misses, ...l1, drops: this.l1Drops },
      l2: this.l2 && {
        hits: this.l2Hits,
        misses: this.l2Misses,
        available: this.l2Available(),
        connected: this.l2.ready,
        enabled: this.flagL2(),
        breaker: breakerState?.kind ?? 'none',
        errors: this.l2Errors,
        skipped: this.l2Skipped,
        dirty: this.dirty.size + this.dirtyTags.size + this.dirtyClears.size,
        dirtyOverflow: this.dirtyOverflow,
        replays: this.replays,
      },
      l3: l3 && { hits: this.l3Hits, misses: this.l3Misses, ...l3 },
      factory: { runs: this.factoryRuns, errors: this.factoryErrors, timeouts: this.factoryTimeouts, leaseWaits: this.leaseWaits, leaseLost: this.leaseLost },
      bus: this.bus && { connected: this.bus.connected, published: this.bus.published, received: this.bus.received, reconnects: this.bus.reconnects, dropped: this.bus.dropped },
      hot: this.hot && { tracked: this.hot.size, sketchBytes: this.hot.bytes, warmed: this.warmed, prefetched: this.prefetched },
      codec: { compressed: this.codec.compressedCount, bytesSaved: this.codec.compressedSaved, decodeErrors: this.decodeErrors },
      inflight: this.inflight.size + this.refreshing.size,
    };
    this.metrics?.flush();
    return out;
  }

  /** Sends queued bus messages and L3 writes now (tests, shutdown). */
  async flush(): Promise<void> {
    this.l3?.flush();
    await this.bus?.flush();
  }

  private checkOpen(): void {
    if (this.closed) throw new CacheError('CACHE_CLOSED', `cache ${this.name} is closed`, { cache: this.name });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Persists the hot set, flushes L3 and the bus, closes connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.persistHot().catch(() => undefined);
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.metrics?.flush();
    this.metrics?.dispose();
    this.ownBreaker?.dispose();
    for (const set of this.waiters.values()) for (const w of [...set]) w();
    await this.bus?.close();
    await this.l2?.close();
    await this.l3?.close();
    this.l1?.clear();
  }
}

/** A view of the cache whose keys, tags and clear() live under a namespace prefix. */
class CacheNamespace implements Cache {
  readonly path: string;
  constructor(
    private readonly root: TieredCache,
    path: string,
    private readonly prefix: string,
  ) {
    this.path = path;
  }

  getSync<T = unknown>(key: string): T | undefined {
    if (typeof key === 'string') {
      const e = this.root.hitIn(this.prefix, this.prefix + key);
      if (e !== undefined) return e.value as T;
    }
    return this.root.syncMiss(key) as T | undefined;
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    if (typeof key === 'string') {
      const e = this.root.hitIn(this.prefix, this.prefix + key);
      if (e !== undefined) return Promise.resolve(e.value as T);
    }
    return this.root.getSlow(this.prefix + key, key, this.prefix) as Promise<T | undefined>;
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    if (typeof key === 'string') {
      const e = this.root.hitIn(this.prefix, this.prefix + key);
      if (e !== undefined) return Promise.resolve(e.value as T);
    }
    return this.root.getOrSetSlow(this.prefix + key, key, this.prefix, factory as Factory<unknown>, options) as Promise<T>;
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return this.root.getManyIn(this.prefix, keys) as Promise<Array<T | undefined>>;
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    return this.root.setIn(this.prefix, key, value, options);
  }

  setMany(entries: readonly SetManyEntry[]): Promise<void> {
    return this.root.setManyIn(this.prefix, entries);
  }

  delete(key: string): Promise<void> {
    return this.root.deleteManyIn(this.prefix, [key]);
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.root.deleteManyIn(this.prefix, keys);
  }

  deleteByTag(tags: string | readonly string[]): Promise<void> {
    return this.root.deleteByTagIn(this.prefix, tags);
  }

  clear(): Promise<void> {
    return this.root.clearIn(this.prefix);
  }

  namespace(name: string): Cache {
    checkNamespace(name);
    return new CacheNamespace(this.root, `${this.path}/${name}`, this.prefix + name + NS_SEP);
  }
}

/** Builds the cache, waits for Redis (bounded) and warms L1. */
export async function createCache(opts: CacheOptions = {}): Promise<TieredCache> {
  // ioredis is loaded only for a cache with L2: the embedded default never pays for it.
  const layers = opts.l2 ? { RedisLayer: (await import('./redis.js')).RedisLayer } : {};
  const cache = new TieredCache(opts, layers);
  try {
    return await cache.start();
  } catch (err) {
    await cache.close().catch(() => undefined);
    throw err;
  }
}
