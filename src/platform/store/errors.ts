import { CodeError } from '../errors.js';

export type StoreErrorCode =
  | 'STORE_UNAVAILABLE'
  | 'STORE_QUERY_FAILED'
  | 'STORE_MIGRATION_FAILED'
  | 'STORE_POOL_EXHAUSTED'
  | 'STORE_TIMEOUT'
  | 'STORE_CLOSED';

export class StoreError extends CodeError<StoreErrorCode> {}
