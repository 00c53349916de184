import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { CacheOptions } from '../../../platform/cache/index.js';

const ms = (def: number, min: number, max: number, description: string, live = false) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description, ...(live ? { live: true } : {}) });
const group = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) => Type.Object(props, { additionalProperties: false, default: {}, description });
const YEAR = 365 * 24 * 3_600_000;

/** The tiered cache, engine.cache (src/platform/cache, README "Tiered cache"). Flags: cache.l2, cache.compression. */
export const cacheSection = Type.Object(
  {
    ttlMs: ms(300_000, 1, 100 * YEAR, 'Default time a value stays fresh (getOrSet/set without ttl).', true),
    graceMs: ms(0, 0, 100 * YEAR, 'Default grace: how long past its TTL getOrSet may serve a value while refreshing it (stale-while-revalidate, and on factory failure).', true),
    softTimeoutMs: ms(0, 0, YEAR, 'With a stale value at hand, wait this long for the refresh before serving stale; 0 serves stale at once.', true),
    hardTimeoutMs: ms(10_000, 1, YEAR, 'A factory running longer is abandoned (its signal aborts): CACHE_FACTORY_TIMEOUT, or the stale value.', true),
    graceBackoffMs: ms(5_000, 0, YEAR, 'After a factory failed and stale was served, serve stale without retrying for this long.', true),
    maxKeyLength: Type.Integer({ default: 1024, minimum: 1, maximum: 65_536, description: 'Longest key or tag, in characters (CACHE_KEY_INVALID beyond).' }),
    maxValueBytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 16, maximum: 512 * 1024 * 1024, description: 'Largest value, msgpack-serialised, before compression (CACHE_VALUE_TOO_LARGE beyond).' }),
    compressThresholdBytes: Type.Integer({ default: 1024, minimum: 0, maximum: 512 * 1024 * 1024, description: 'Values at least this large (serialised) are deflated while the cache.compression flag is on.' }),
    maxBatch: Type.Integer({ default: 1000, minimum: 1, maximum: 100_000, description: 'Most keys in one getMany/setMany/deleteMany (CACHE_BATCH_TOO_LARGE beyond).' }),
    maxTags: Type.Integer({ default: 32, minimum: 0, maximum: 1000, description: 'Most tags on one entry.' }),
    l1: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Keep hot values in memory (synchronous hits).' }),
        maxItems: Type.Integer({ default: 10_000, minimum: 1, maximum: 100_000_000, description: 'Entries kept in memory at most.' }),
        maxBytes: Type.Integer({ default: 64 * 1024 * 1024, minimum: 1024, maximum: 1024 ** 4, description: 'Bytes kept in memory at most (serialised size plus ~100 bytes per entry). The memory monitor shrinks both bounds under pressure.' }),
      },
      'L1: memory (lru-cache).',
    ),
    l2: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Use Redis when redis.url (or REDIS_URL) is set.' }),
        prefix: Type.String({ default: 'code:cache:', minLength: 1, maxLength: 200, description: 'Prefix of every Redis key and of the bus channel; instances sharing it share the cache.' }),
        commandTimeoutMs: ms(1_000, 10, 600_000, 'When Redis has answered nothing for this long with commands in flight, the connection is dropped and rebuilt (the breaker counts the failures).'),
        connectTimeoutMs: ms(2_000, 10, 600_000, 'Connect timeout; the engine starts without L2 if Redis is not there, and L2 joins when it is.'),
        breakerOpenMs: ms(5_000, 0, YEAR, 'How long the L2 breaker stays open before trying Redis again (a reconnect closes it at once).'),
        bus: Type.Boolean({ default: true, description: 'Invalidation bus over pub/sub: other instances drop their L1 copies after a set, delete, tag deletion or clear.' }),
        leases: Type.Boolean({ default: true, description: 'Cross-process single flight: a getOrSet miss takes a lease (SET NX PX, fencing token) so one instance runs the factory.' }),
      },
      'L2: Redis (ioredis, auto-pipelining), behind a circuit breaker.',
    ),
    l3: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Keep entries on disk (survives restarts; answers while Redis is down).' }),
        file: Type.String({ default: 'cache.db', minLength: 1, maxLength: 500, description: 'SQLite file, relative to data.dir.' }),
        maxBytes: Type.Integer({ default: 256 * 1024 * 1024, minimum: 1024, maximum: 1024 ** 5, description: 'Payload bytes kept on disk at most; the least recently read go first.' }),
        maxItems: Type.Integer({ default: 1_000_000, minimum: 1, maximum: 1e10, description: 'Entries kept on disk at most.' }),
      },
      'L3: disk (SQLite file under data.dir).',
    ),
    hotKeys: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Track the hottest keys (count-min sketch), persist them, warm L1 with them at start.' }),
        capacity: Type.Integer({ default: 256, minimum: 1, maximum: 100_000, description: 'Hot keys tracked and persisted.' }),
        sampleEvery: Type.Integer({ default: 16, minimum: 1, maximum: 1_048_576, description: 'Record one access in this many (a power of two): keeps the L1 hit path nearly free.' }),
        persistIntervalMs: ms(60_000, 1_000, YEAR, 'How often the hot set is saved (and at shutdown).'),
      },
      'Hot-key tracking.',
    ),
    warm: group(
      {
        onStart: Type.Boolean({ default: true, description: 'Load the persisted hot keys and the warm patterns into L1 at start.' }),
        maxKeys: Type.Integer({ default: 10_000, minimum: 0, maximum: 1_000_000, description: 'Most keys loaded at start.' }),
        patterns: Type.Array(
          Type.Object(
            {
              pattern: Type.String({ minLength: 1, maxLength: 1024, description: '`*` glob over keys, e.g. `config:*`.' }),
              namespace: Type.String({ default: '', maxLength: 500, description: 'Namespace path (`users/orders`); empty for the root.' }),
            },
            { additionalProperties: false },
          ),
          { default: [], maxItems: 32, description: 'Keys matching these are loaded into L1 at start (from L2, else L3).' },
        ),
      },
      'Warming L1 at start-up.',
    ),
    prefetch: Type.Array(
      Type.Object(
        {
          when: Type.String({ minLength: 1, maxLength: 1024, description: '`*` glob: a key loaded into L1 that matches it...' }),
          fetch: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 16, description: '...brings these along ($1, $2: what the `*`s matched), e.g. `user:$1:prefs`.' }),
          namespace: Type.String({ default: '', maxLength: 500, description: 'Namespace path the rule applies in; empty for the root.' }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 64, description: 'Predictive prefetch rules: related keys are loaded from L2/L3 into L1 in one round trip.' },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type CacheSettings = Static<typeof cacheSection>;

/** The TieredCache options of the `cache` section (flags, metrics and warnings come from the engine). */
export function cacheOptions(cfg: CacheSettings, where: { redisUrl: string; dataDir: string }): CacheOptions {
  return {
    name: 'main',
    ...cacheLiveOptions(cfg),
    maxKeyLength: cfg.maxKeyLength,
    maxValueBytes: cfg.maxValueBytes,
    compressThresholdBytes: cfg.compressThresholdBytes,
    maxBatch: cfg.maxBatch,
    maxTags: cfg.maxTags,
    l1: cfg.l1.enabled ? { maxItems: cfg.l1.maxItems, maxBytes: cfg.l1.maxBytes } : false,
    l2:
      cfg.l2.enabled && where.redisUrl
        ? {
            url: where.redisUrl,
            prefix: cfg.l2.prefix,
            commandTimeoutMs: cfg.l2.commandTimeoutMs,
            connectTimeoutMs: cfg.l2.connectTimeoutMs,
            breakerOpenMs: cfg.l2.breakerOpenMs,
            bus: cfg.l2.bus,
            leases: cfg.l2.leases,
          }
        : false,
    l3: cfg.l3.enabled ? { path: join(where.dataDir, cfg.l3.file), maxBytes: cfg.l3.maxBytes, maxItems: cfg.l3.maxItems } : false,
    hotKeys: cfg.hotKeys.enabled ? { capacity: cfg.hotKeys.capacity, sampleEvery: cfg.hotKeys.sampleEvery, persistIntervalMs: cfg.hotKeys.persistIntervalMs } : false,
    warm: { onStart: cfg.warm.onStart, maxKeys: cfg.warm.maxKeys, patterns: cfg.warm.patterns },
    prefetch: cfg.prefetch,
  };
}

/** The keys marked live: applied to a running cache with `cache.configure(...)`. */
export function cacheLiveOptions(cfg: CacheSettings): Pick<CacheOptions, 'ttlMs' | 'graceMs' | 'softTimeoutMs' | 'hardTimeoutMs' | 'graceBackoffMs'> {
  return { ttlMs: cfg.ttlMs, graceMs: cfg.graceMs, softTimeoutMs: cfg.softTimeoutMs, hardTimeoutMs: cfg.hardTimeoutMs, graceBackoffMs: cfg.graceBackoffMs };
}
