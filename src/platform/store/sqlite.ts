import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './errors.js';
import { MIGRATIONS_TABLE, appliedMigrations, migrationSql } from './migrate.js';
import { checkColumns, checkIdentifier, checkSql, rowWidthError, sqliteConstraint } from './sql.js';
import type { BulkInsertOptions, Migration, Row, SqlExecutor, SqlValue, Store, StoreStats } from './types.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. The folder is created. */
  path: string;
  /** `normal` survives a process crash (kill -9) in WAL mode; `full` also survives power loss. */
  synchronous?: 'normal' | 'full';
  busyTimeoutMs?: number;
}

function bind(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  // better-sqlite3 refuses booleans; store them as 0/1 like PostgreSQL's adapter reads them back.
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

function hasBoolean(row: readonly SqlValue[]): boolean {
  for (let i = 0; i < row.length; i++) if (typeof row[i] === 'boolean') return true;
  return false;
}

/** A failed statement as STORE_QUERY_FAILED, with the same `constraint` word the PostgreSQL adapter gives. */
function queryError(err: unknown, sql: string): StoreError {
  if (err instanceof StoreError) return err;
  const details: Record<string, unknown> = { sql: sql.length > 200 ? sql.slice(0, 200) + '…' : sql };
  const constraint = sqliteConstraint((err as { code?: string }).code);
  if (constraint) details.constraint = constraint;
  return new StoreError('STORE_QUERY_FAILED', (err as Error).message, details, { cause: err });
}

/**
 * The embedded store: one better-sqlite3 connection in WAL mode. Calls are synchronous underneath;
 * a promise-chain lock keeps a transaction's statements from interleaving with other callers'.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private lock: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    try {
      this.db = new Database(opts.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new StoreError('STORE_UNAVAILABLE', `cannot open SQLite database at ${opts.path}: ${(err as Error).message}`, { path: opts.path }, { cause: err });
    }
  }

  private prepare(sql: string): Database.Statement {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
    let stmt = this.statements.get(sql);
    if (!stmt) {
      checkSql(sql);
      try {
        stmt = this.db.prepare(sql);
      } catch (err) {
        throw new StoreError('STORE_QUERY_FAILED', `bad SQL: ${(err as Error).message}`, { sql }, { cause: err });
      }
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private querySync<R extends Row>(sql: string, params?: readonly SqlValue[]): R[] {
    const stmt = this.prepare(sql);
    try {
      return (stmt.reader ? stmt.all(...bind(params)) : (stmt.run(...bind(params)), [])) as R[];
    } catch (err) {
      throw queryError(err, sql);
    }
  }

  private runSync(sql: string, params?: readonly SqlValue[]): { changes: number } {
    const stmt = this.prepare(sql);
    try {
      return { changes: stmt.run(...bind(params)).changes };
    } catch (err) {
      throw queryError(err, sql);
    }
  }

  /** Runs `fn` once every earlier holder of the lock is done. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    this.waiting++;
    const next = this.lock.then(() => {
      this.waiting--;
      return fn();
    });
    this.lock = next.catch(() => undefined);
    return next;
  }

  query<R extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.exclusive(() => this.querySync<R>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.exclusive(() => this.runSync(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx: SqlExecutor = {
        dialect: 'sqlite',
        query: async <R extends Row = Row>(sql: string, params?: readonly SqlValue[]) => this.querySync<R>(sql, params),
        run: async (sql: string, params?: readonly SqlValue[]) => this.runSync(sql, params),
      };
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async migrate(migrations: readonly Migration[]): Promise<string[]> {
    return this.exclusive(async () => {
      this.db.exec(MIGRATIONS_TABLE);
      const done = await appliedMigrations({ dialect: 'sqlite', query: async (s, p) => this.querySync(s, p), run: async (s, p) => this.runSync(s, p) });
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        try {
          this.db.transaction(() => {
            this.db.exec(migrationSql(m, 'sqlite'));
            this.runSync('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', [m.id, Date.now()]);
          })();
        } catch (err) {
          throw new StoreError('STORE_MIGRATION_FAILED', `migration ${m.id} failed: ${(err as Error).message}`, { migration: m.id }, { cause: err });
        }
        applied.push(m.id);
      }
      return applied;
    });
  }

  async insertMany(table: string, columns: readonly string[], rows: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>, opts: BulkInsertOptions = {}): Promise<number> {
    checkIdentifier(table, 'table');
    checkColumns(columns);
    const chunkSize = opts.chunkSize ?? 1000;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 1_000_000) {
      throw new StoreError('STORE_QUERY_FAILED', `chunkSize must be an integer from 1 to 1000000, got ${chunkSize}`, { chunkSize });
    }
    const width = columns.length;
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    let total = 0;
    let first = 0;
    const writeChunk = (rowsToWrite: readonly (readonly SqlValue[])[], from: number, to: number): number => {
      const stmt = this.prepare(sql);
      // One transaction per chunk: a crash mid-batch leaves whole chunks or nothing.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (let i = from; i < to; i++) {
          const r = rowsToWrite[i]!;
          if (r.length !== width) throw rowWidthError(first + i - from, r.length, width);
          // An array binds as anonymous parameters without spreading; booleans need the 0/1 copy.
          stmt.run(hasBoolean(r) ? bind(r) : r);
        }
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw queryError(err, sql);
      }
      first += to - from;
      return to - from;
    };
    if (Array.isArray(rows)) {
      // The common case (rows already in memory): slice nothing, one lock turn per chunk.
      const all = rows as readonly (readonly SqlValue[])[];
      for (let start = 0; start < all.length; start += chunkSize) {
        const end = Math.min(all.length, start + chunkSize);
        total += await this.exclusive(() => writeChunk(all, start, end));
      }
      return total;
    }
    let chunk: (readonly SqlValue[])[] = [];
    const flush = async (): Promise<void> => {
      const rowsToWrite = chunk;
      chunk = [];
      total += await this.exclusive(() => writeChunk(rowsToWrite, 0, rowsToWrite.length));
    };
    if (Symbol.iterator in rows) {
      // A sync iterable needs no await per row (for await costs a microtask each).
      for (const row of rows as Iterable<readonly SqlValue[]>) {
        chunk.push(row);
        if (chunk.length >= chunkSize) await flush();
      }
    } else {
      for await (const row of rows) {
        chunk.push(row);
        if (chunk.length >= chunkSize) await flush();
      }
    }
    if (chunk.length > 0) await flush();
    return total;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  stats(): StoreStats {
    return { dialect: 'sqlite', inUse: this.waiting > 0 ? 1 : 0, total: 1, waiting: Math.max(0, this.waiting - 1) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }
}
