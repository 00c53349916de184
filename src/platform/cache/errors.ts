import { CodeError } from '../errors.js';

export type CacheErrorCode =
  | 'CACHE_KEY_INVALID'
  | 'CACHE_VALUE_INVALID'
  | 'CACHE_VALUE_TOO_LARGE'
  | 'CACHE_BATCH_TOO_LARGE'
  | 'CACHE_OPTIONS_INVALID'
  | 'CACHE_FACTORY_TIMEOUT'
  | 'CACHE_L2_UNAVAILABLE'
  | 'CACHE_L3_UNAVAILABLE'
  | 'CACHE_CLOSED';

/**
 * Raised by the tiered cache. Callers only ever see the input errors (bad key, value, batch, options),
 * CACHE_FACTORY_TIMEOUT and CACHE_CLOSED: a failing Redis (CACHE_L2_UNAVAILABLE) is absorbed by the
 * breaker and the layers below, and a disk cache that cannot be opened (CACHE_L3_UNAVAILABLE) is refused
 * at start-up.
 */
export class CacheError extends CodeError<CacheErrorCode> {}

export function isCacheError(err: unknown, code?: CacheErrorCode): err is CacheError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('CACHE_') &&
    (code === undefined || (err as { code: string }).code === code)
  );
}
