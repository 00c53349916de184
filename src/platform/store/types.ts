/**
 * The Store: a small SQL contract both adapters (SQLite embedded, PostgreSQL at scale) implement, so
 * repositories are written once. SQL uses `?` placeholders and a portable subset (TEXT, INTEGER,
 * BIGINT, REAL; timestamps as epoch milliseconds; JSON as TEXT); adapters translate placeholders.
 *
 *   await store.migrate(allMigrations);
 *   await store.run('INSERT INTO flags (name, enabled) VALUES (?, ?)', ['cache.l2', 1]);
 *   const rows = await store.query<{ name: string }>('SELECT name FROM flags');
 */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;
export type Row = Record<string, unknown>;
export type Dialect = 'sqlite' | 'postgres';

/** A versioned schema change. `id` sorts in apply order within its owner, e.g. `config/001-versions`. */
export interface Migration {
  id: string;
  up: string | { sqlite: string; postgres: string };
}

export interface SqlExecutor {
  readonly dialect: Dialect;
  query<R extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface BulkInsertOptions {
  /** Rows per transaction / statement; default 1,000. */
  chunkSize?: number;
}

export interface StoreStats {
  dialect: Dialect;
  /** Connections in use / total (SQLite: one connection). */
  inUse: number;
  total: number;
  waiting: number;
}

export interface Store extends SqlExecutor {
  /** Applies the migrations not applied yet, each in its own transaction; returns the ids it applied. */
  migrate(migrations: readonly Migration[]): Promise<string[]>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Inserts many rows; each chunk is atomic (all of it or none of it). Returns rows inserted. */
  insertMany(table: string, columns: readonly string[], rows: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>, opts?: BulkInsertOptions): Promise<number>;
  /** Resolves when the database answers; used by /ready. */
  ping(): Promise<void>;
  stats(): StoreStats;
  close(): Promise<void>;
}
