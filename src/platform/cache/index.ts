export { TieredCache, createCache } from './cache.js';
export { CacheError, isCacheError } from './errors.js';
export type { CacheErrorCode } from './errors.js';
export type {
  Cache,
  CacheFlags,
  CacheOptions,
  CacheStats,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  L1Options,
  L2Breaker,
  L2Options,
  L3Options,
  PrefetchRule,
  SetManyEntry,
  SetOptions,
  WarmPattern,
} from './types.js';
export { CountMinSketch, HotKeys } from './hot.js';
export { MemoryLayer } from './memory.js';
// RedisLayer is not re-exported: './redis.js' loads ioredis, which only a cache with L2 pays for.
export { DiskLayer } from './disk.js';
export type { ByteLayer, LayerEntry } from './layer.js';
export { registerCacheKpis, CACHE_HIT_RATE_KPI } from './kpis.js';
