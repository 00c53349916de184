import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { hasCode } from '../errors.js';
import type { MetricsRegistry } from '../metrics/types.js';
import { CircuitBreaker } from '../resilience/breaker.js';
import { StoreError } from './errors.js';
import { MIGRATIONS_TABLE, migrationSql } from './migrate.js';
import { PgPool, isConnectionError } from './pool.js';
import type { PoolBreaker, PoolStats, PooledConnection } from './pool.js';
import { PG_MAX_PARAMS, checkColumns, checkIdentifier, checkSql, copyText, pgConstraint, pgParam, pgParams, pgValuesList, rowWidthError, toPgPlaceholders } from './sql.js';
import type { BulkInsertOptions, Migration, Row, SqlExecutor, SqlValue, Store, StoreStats } from './types.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db`; the DATABASE_URL. Query parameters in the URL win over the options below. */
  url: string;
  /** Schema every connection uses (its search_path); must exist. Default: the server's search_path. */
  schema?: string;
  poolMin?: number;
  /** Default 10. */
  poolMax?: number;
  /** Default 10,000 ms. */
  acquireTimeoutMs?: number;
  /** Callers allowed to wait for a connection; one more fails fast with STORE_POOL_EXHAUSTED. Default 4 × poolMax. */
  poolMaxWaiting?: number;
  /** Default 30,000 ms. */
  idleTimeoutMs?: number;
  /** Connections are recycled after this age. Default 30 min. */
  maxLifetimeMs?: number;
  /** Connections idle this long are validated with `SELECT 1` before reuse. Default 5,000 ms. */
  validateAfterIdleMs?: number;
  connectTimeoutMs?: number;
  /** Server-side statement_timeout; a statement running longer fails with STORE_TIMEOUT. Default 30,000 ms; 0 = none. */
  statementTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout: a transaction left open this long is ended by the server. Default 60,000 ms. */
  idleInTransactionTimeoutMs?: number;
  /**
   * Whether insertMany uses COPY FROM STDIN (default) or multi-row INSERTs. A function is read on
   * every call, so a feature flag (`store.copy`) can switch it at run time.
   */
  useCopy?: boolean | (() => boolean);
  /**
   * Wraps opening connections. Default: a CircuitBreaker named `store.<name>` that opens after
   * `breakerFailures` failed connects in a row and lets a trial through after `breakerOpenMs`.
   */
  breaker?: PoolBreaker;
  /** Default 3. */
  breakerFailures?: number;
  /** Default 5,000 ms: with PostgreSQL back, the pool is healthy again within this (well under 30 s). */
  breakerOpenMs?: number;
  metrics?: MetricsRegistry;
  /** Pool label in metrics; default `main`. */
  name?: string;
  applicationName?: string;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * BIGINT (and NUMERIC, which SUM/AVG over integers return) come back as JS numbers, like SQLite's,
 * so repositories read epoch-ms times and counts the same on both adapters. Values beyond 2^53 come
 * back as bigint rather than silently losing digits. Per pool: the global pg.types stay untouched.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') {
      return (v: string) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : BigInt(v);
      };
    }
    if (oid === NUMERIC_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function urlWithSearchPath(url: string, schema: string | undefined): string {
  if (!schema) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError('STORE_UNAVAILABLE', 'DATABASE_URL is not a valid URL (postgres://user@host:port/db)', { key: 'store.url' });
  }
  // The connection string's own parameters override client options in pg, so the search_path goes in the URL.
  const prior = u.searchParams.get('options');
  u.searchParams.set('options', `${prior ? prior + ' ' : ''}-c search_path=${schema}`);
  return u.toString();
}

/** URL without password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

/**
 * The Store on PostgreSQL, for several engine processes sharing one database. Same `?` SQL as SQLite.
 *
 *   const store = new PostgresStore({ url: process.env.DATABASE_URL!, poolMax: 20, metrics });
 *   await store.migrate(migrations);
 *   await store.insertMany('probe_results', ['id', 'at', 'ok'], rows); // COPY FROM STDIN, 1,000 rows a chunk
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly pool: PgPool;
  /** Read per insertMany chunk: COPY when true, multi-row INSERTs when false. The engine points it at the `store.copy` flag. */
  useCopy: () => boolean;
  private readonly schema: string | undefined;
  private closed = false;

  constructor(opts: PostgresStoreOptions) {
    if (typeof opts.url !== 'string' || !/^postgres(ql)?:\/\//.test(opts.url)) {
      throw new StoreError('STORE_UNAVAILABLE', 'store url must start with postgres:// or postgresql://', { key: 'store.url' });
    }
    if (opts.schema !== undefined) checkIdentifier(opts.schema, 'schema');
    this.schema = opts.schema;
    const statementTimeout = opts.statementTimeoutMs ?? 30_000;
    const client: pg.ClientConfig = {
      connectionString: urlWithSearchPath(opts.url, opts.schema),
      types,
      application_name: opts.applicationName ?? 'code-engine',
      idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 60_000,
      keepAlive: true,
    };
    if (statementTimeout > 0) {
      client.statement_timeout = statementTimeout;
      // A dead peer never answers: give up client-side a little after the server would have.
      client.query_timeout = statementTimeout + 5_000;
    }
    this.pool = new PgPool({
      client,
      min: opts.poolMin,
      max: opts.poolMax,
      acquireTimeoutMs: opts.acquireTimeoutMs,
      maxWaiting: opts.poolMaxWaiting,
      idleTimeoutMs: opts.idleTimeoutMs,
      maxLifetimeMs: opts.maxLifetimeMs,
      validateAfterIdleMs: opts.validateAfterIdleMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      breaker:
        opts.breaker ??
        new CircuitBreaker({
          name: `store.${opts.name ?? 'main'}`,
          consecutiveFailures: opts.breakerFailures ?? 3,
          // Connect failures only; a closing store is not the server's fault.
          minimumCalls: 100,
          windowSize: 100,
          openMs: opts.breakerOpenMs ?? 5_000,
          halfOpenTrials: 1,
          successesToClose: 1,
          exclude: (e) => hasCode(e, 'STORE_CLOSED'),
          metrics: opts.metrics,
        }),
      metrics: opts.metrics,
      name: opts.name,
    });
    const useCopy = opts.useCopy ?? true;
    this.useCopy = typeof useCopy === 'function' ? useCopy : () => useCopy;
  }

  private async withConnection<T>(fn: (conn: PooledConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
    const conn = await this.pool.acquire();
    try {
      const result = await fn(conn);
      this.pool.release(conn);
      return result;
    } catch (err) {
      this.pool.release(conn, err);
      throw err;
    }
  }

  private async exec(conn: PooledConnection, sql: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> {
    checkSql(sql);
    const { text, count } = toPgPlaceholders(sql);
    const values = pgParams(params);
    if (values.length !== count) {
      throw new StoreError('STORE_QUERY_FAILED', `statement has ${count} placeholders but ${values.length} values were given`, { sql: sql.slice(0, 200) });
    }
    try {
      return await conn.client.query(text, values);
    } catch (err) {
      throw mapError(err, sql, conn);
    }
  }

  async query<R extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.withConnection(async (conn) => (await this.exec(conn, sql, params)).rows as R[]);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.withConnection(async (conn) => ({ changes: (await this.exec(conn, sql, params)).rowCount ?? 0 }));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withConnection(async (conn) => {
      let open = true;
      const guard = () => {
        if (!open) throw new StoreError('STORE_QUERY_FAILED', 'transaction executor used after its transaction ended', {});
      };
      const tx: SqlExecutor = {
        dialect: 'postgres',
        query: async <R extends Row = Row>(sql: string, params?: readonly SqlValue[]) => {
          guard();
          return (await this.exec(conn, sql, params)).rows as R[];
        },
        run: async (sql: string, params?: readonly SqlValue[]) => {
          guard();
          return { changes: (await this.exec(conn, sql, params)).rowCount ?? 0 };
        },
      };
      await this.exec(conn, 'BEGIN', undefined);
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        open = false;
        if (!conn.broken) await conn.client.query('ROLLBACK').catch(() => (conn.broken = true));
        throw err;
      }
      open = false;
      try {
        await conn.client.query('COMMIT');
      } catch (err) {
        throw commitError(err, conn);
      }
      return result;
    });
  }

  async migrate(migrations: readonly Migration[]): Promise<string[]> {
    return this.withConnection(async (conn) => {
      const c = conn.client;
      // Several engine processes may start at once: one migrates, the others wait and find nothing to do.
      const lockKey = `code.migrations:${this.schema ?? ''}`;
      try {
        await c.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
      } catch (err) {
        throw mapError(err, 'pg_advisory_lock', conn);
      }
      const applied: string[] = [];
      try {
        await c.query(MIGRATIONS_TABLE);
        const done = new Set((await c.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
        for (const m of migrations) {
          if (done.has(m.id)) continue;
          try {
            // DDL is transactional in PostgreSQL: a failing migration leaves nothing behind.
            await c.query('BEGIN');
            await c.query('SET LOCAL statement_timeout = 0');
            await c.query(migrationSql(m, 'postgres'));
            await c.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [m.id, Date.now()]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => (conn.broken = true));
            if (isConnectionError(err)) throw mapError(err, `migration ${m.id}`, conn);
            throw new StoreError('STORE_MIGRATION_FAILED', `migration ${m.id} failed: ${(err as Error).message}`, { migration: m.id, sqlstate: (err as { code?: string }).code }, { cause: err });
          }
          applied.push(m.id);
        }
      } finally {
        if (!conn.broken) await c.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => (conn.broken = true));
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
    let total = 0;
    let index = 0;
    let chunk: (readonly SqlValue[])[] = [];
    // One chunk in flight while the next is gathered and encoded (CPU work overlapping the server's),
    // but a chunk is sent only after the one before it committed: chunks land in order.
    let inflight: Promise<number> | undefined;
    const flush = async () => {
      const rowsToWrite = chunk;
      chunk = [];
      const send = this.prepareChunk(table, columns, rowsToWrite, index - rowsToWrite.length);
      if (inflight) {
        const previous = inflight;
        inflight = undefined;
        total += await previous;
      }
      inflight = send();
      inflight.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    };
    try {
      if (Symbol.iterator in rows) {
        for (const row of rows as Iterable<readonly SqlValue[]>) {
          chunk.push(row);
          index++;
          if (chunk.length >= chunkSize) await flush();
        }
      } else {
        for await (const row of rows) {
          chunk.push(row);
          index++;
          if (chunk.length >= chunkSize) await flush();
        }
      }
      if (chunk.length > 0) await flush();
      if (inflight) {
        const last = inflight;
        inflight = undefined;
        total += await last;
      }
      return total;
    } finally {
      // Failing early (a bad row, a throwing iterator): never return while a chunk is still being written.
      if (inflight) await inflight.catch(() => undefined);
    }
  }

  /**
   * Checks and encodes one chunk now (synchronously) and returns the function that writes it
   * atomically: one COPY statement, or multi-row INSERTs in one transaction.
   */
  private prepareChunk(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], firstIndex: number): () => Promise<number> {
    const width = columns.length;
    if (this.useCopy()) {
      let payload: string;
      try {
        payload = copyText(rows, width);
      } catch (err) {
        if (err instanceof StoreError && typeof err.details?.row === 'number') throw rowWidthError(firstIndex + (err.details.row as number), err.details.values as number, width);
        throw err;
      }
      const sql = `COPY ${table} (${columns.join(', ')}) FROM STDIN`;
      return () => this.withConnection((conn) => this.copy(conn, sql, payload));
    }
    for (let r = 0; r < rows.length; r++) if (rows[r]!.length !== width) throw rowWidthError(firstIndex + r, rows[r]!.length, width);
    const perStatement = Math.max(1, Math.floor(PG_MAX_PARAMS / width));
    const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    const statements: { text: string; values: unknown[] }[] = [];
    for (let start = 0; start < rows.length; start += perStatement) {
      const end = Math.min(rows.length, start + perStatement);
      const values: unknown[] = new Array((end - start) * width);
      let k = 0;
      for (let r = start; r < end; r++) {
        const row = rows[r]!;
        for (let j = 0; j < width; j++) values[k++] = pgParam(row[j]!);
      }
      statements.push({ text: head + pgValuesList(end - start, width), values });
    }
    return () =>
      this.withConnection(async (conn) => {
        const c = conn.client;
        const several = statements.length > 1;
        try {
          if (several) await c.query('BEGIN');
          let n = 0;
          for (const st of statements) n += (await c.query(st.text, st.values)).rowCount ?? 0;
          if (several) await c.query('COMMIT');
          return n;
        } catch (err) {
          if (several && !conn.broken) await c.query('ROLLBACK').catch(() => (conn.broken = true));
          throw mapError(err, head, conn);
        }
      });
  }

  private copy(conn: PooledConnection, sql: string, payload: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const stream = conn.client.query(copyStreams.from(sql));
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        conn.client.removeListener('error', fail);
        reject(mapError(err, sql, conn));
      };
      // A connection that dies mid-COPY errors the client, not always the stream.
      conn.client.on('error', fail);
      stream.on('error', fail);
      stream.on('finish', () => {
        if (settled) return;
        settled = true;
        conn.client.removeListener('error', fail);
        resolve(stream.rowCount);
      });
      stream.end(payload);
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  stats(): StoreStats & { pool: PoolStats } {
    const p = this.pool.stats();
    return { dialect: 'postgres', inUse: p.inUse, total: p.total, waiting: p.waiting, pool: p };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}

function commitError(err: unknown, conn: PooledConnection): StoreError {
  if (isConnectionError(err)) {
    conn.broken = true;
    return new StoreError('STORE_UNAVAILABLE', `connection lost during COMMIT; the transaction may or may not have been applied: ${(err as Error).message}`, { outcome: 'unknown' }, { cause: err });
  }
  return mapError(err, 'COMMIT', conn);
}

/** pg errors → StoreError with a stable code; connection-level failures mark the connection broken. */
export function mapError(err: unknown, sql: string, conn?: PooledConnection): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string; constraint?: string; detail?: string };
  const message = e?.message ?? String(err);
  const snippet = sql.length > 200 ? sql.slice(0, 200) + '…' : sql;
  if (isConnectionError(err)) {
    if (conn) conn.broken = true;
    return new StoreError('STORE_UNAVAILABLE', `database connection failed: ${message}`, { sql: snippet, sqlstate: e?.code }, { cause: err });
  }
  if (e?.code === '57014' || /Query read timeout/.test(message)) {
    if (e?.code !== '57014' && conn) conn.broken = true; // client-side timeout: the connection state is unknown
    return new StoreError('STORE_TIMEOUT', `statement cancelled after the statement timeout (store.statementTimeoutMs): ${message}`, { sql: snippet, sqlstate: e?.code }, { cause: err });
  }
  const constraint = pgConstraint(e?.code);
  const details: Record<string, unknown> = { sql: snippet, sqlstate: e?.code };
  if (constraint) details.constraint = constraint;
  return new StoreError('STORE_QUERY_FAILED', message, details, { cause: err });
}
