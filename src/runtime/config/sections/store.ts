import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { PostgresStoreOptions } from '../../../platform/store/postgres.js';
import { StringEnum } from '../types.js';

export const storeSection = Type.Object(
  {
    url: Type.String({ default: '', description: 'PostgreSQL URL (postgres://…). Empty: the embedded SQLite file under data.dir. DATABASE_URL sets it too.' }),
    sqliteFile: Type.String({ default: 'code.db', minLength: 1, description: 'SQLite file name inside data.dir.' }),
    synchronous: StringEnum(['normal', 'full'], { default: 'normal', description: 'SQLite durability: normal survives a process crash (kill -9), full also survives power loss.' }),
    // PostgreSQL only (store.url set): the pool and its guards (src/platform/store/pool.ts).
    schema: Type.String({ default: '', pattern: '^([A-Za-z_][A-Za-z0-9_]{0,62})?$', description: 'PostgreSQL schema to use (search_path); must exist. Empty: the server default.' }),
    poolMin: Type.Integer({ default: 0, minimum: 0, maximum: 1000, description: 'Connections kept open even when idle.' }),
    poolMax: Type.Integer({ default: 10, minimum: 1, maximum: 1000, description: 'Most connections open at once (per engine process).' }),
    poolAcquireTimeoutMs: Type.Integer({ default: 10_000, minimum: 1, maximum: 600_000, description: 'A caller waits at most this long for a connection, then gets STORE_POOL_EXHAUSTED.' }),
    poolMaxWaiting: Type.Integer({ default: 0, minimum: 0, maximum: 100_000, description: 'Callers allowed to wait for a connection; one more fails fast with STORE_POOL_EXHAUSTED. 0: 4 × poolMax.' }),
    poolIdleTimeoutMs: Type.Integer({ default: 30_000, minimum: 100, maximum: 86_400_000, description: 'An idle connection above poolMin is closed after this long.' }),
    poolMaxLifetimeMs: Type.Integer({ default: 1_800_000, minimum: 1_000, maximum: 604_800_000, description: 'Connections are closed and replaced after this age (recycling).' }),
    poolValidateAfterIdleMs: Type.Integer({ default: 5_000, minimum: 0, maximum: 86_400_000, description: 'A connection idle this long is checked with SELECT 1 before reuse.' }),
    statementTimeoutMs: Type.Integer({ default: 30_000, minimum: 0, maximum: 86_400_000, description: 'Server-side statement_timeout; longer statements fail with STORE_TIMEOUT. 0: none.' }),
    idleInTransactionTimeoutMs: Type.Integer({ default: 60_000, minimum: 0, maximum: 86_400_000, description: 'The server ends a transaction left idle this long (a leaked connection cannot hold locks forever). 0: none.' }),
    breakerOpenMs: Type.Integer({ default: 5_000, minimum: 100, maximum: 600_000, description: 'After failed connects the pool refuses new ones (fails fast) for this long before a trial connect.' }),
  },
  { additionalProperties: false, default: {} },
);

/** PostgresStore options from the config section (the URL comes from store.url / DATABASE_URL). */
export function postgresOptions(cfg: Static<typeof storeSection>): Omit<PostgresStoreOptions, 'metrics' | 'useCopy'> {
  return {
    url: cfg.url,
    schema: cfg.schema || undefined,
    poolMin: cfg.poolMin,
    poolMax: cfg.poolMax,
    acquireTimeoutMs: cfg.poolAcquireTimeoutMs,
    poolMaxWaiting: cfg.poolMaxWaiting || undefined,
    idleTimeoutMs: cfg.poolIdleTimeoutMs,
    maxLifetimeMs: cfg.poolMaxLifetimeMs,
    validateAfterIdleMs: cfg.poolValidateAfterIdleMs,
    statementTimeoutMs: cfg.statementTimeoutMs,
    idleInTransactionTimeoutMs: cfg.idleInTransactionTimeoutMs,
    breakerOpenMs: cfg.breakerOpenMs,
  };
}
