import pg from 'pg';
import { isCodeError } from '../errors.js';
import type { Counter, Histogram, MetricsRegistry } from '../metrics/types.js';
import type { BreakerState, Policy } from '../resilience/types.js';
import { StoreError } from './errors.js';

/**
 * A PostgreSQL connection pool written for CODE rather than pg.Pool, because pg.Pool has no bounded
 * wait queue, no validation of connections that sat idle, no acquire-wait figures and no breaker:
 * those are what keep a pool from being exhausted (the planning document's top bottleneck).
 *
 *   const pool = new PgPool({ client: { connectionString: url }, max: 20, metrics });
 *   const conn = await pool.acquire();
 *   try { await conn.client.query('SELECT 1'); pool.release(conn); } catch (e) { pool.release(conn, e); throw e; }
 */
export interface PgPoolOptions {
  /** pg.Client settings (connection string, statement_timeout, types...). */
  client: pg.ClientConfig;
  /** Connections kept open even when idle (opened at start and after churn). Default 0. */
  min?: number;
  /** Most connections open at once. Default 10. */
  max?: number;
  /** A caller waits at most this long for a connection, then gets STORE_POOL_EXHAUSTED. Default 10 s. */
  acquireTimeoutMs?: number;
  /** Callers allowed to wait at once; one more fails fast with STORE_POOL_EXHAUSTED. Default 4 × max. */
  maxWaiting?: number;
  /** An idle connection above `min` is closed after this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** A connection is closed (recycled) after this age, when next released or idle. Default 30 min. */
  maxLifetimeMs?: number;
  /** A connection idle at least this long is checked with `SELECT 1` before it is handed out. Default 5 s. */
  validateAfterIdleMs?: number;
  /** Timeout of that check (a dead peer answers nothing). Default 2 s. */
  validationTimeoutMs?: number;
  /** Timeout of opening one connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** Wraps connection opening: when the server is down, callers fail fast instead of each waiting out a connect. */
  breaker?: PoolBreaker;
  /** Metrics are registered under this `pool` label. Default `main`. */
  name?: string;
  metrics?: MetricsRegistry;
  now?: () => number;
}

/** A breaker policy (e.g. resilience/breaker.ts's CircuitBreaker); its `state` is shown in stats when it has one. */
export type PoolBreaker = Policy & { readonly state?: BreakerState };

export interface PooledConnection {
  readonly client: pg.Client;
  readonly id: number;
  readonly createdAt: number;
  /** Set once the connection reported an error: it is closed on release. */
  broken: boolean;
}

interface Conn extends PooledConnection {
  lastUsedAt: number;
  expiresAt: number;
}

interface Waiter {
  resolve: (c: Conn) => void;
  reject: (e: unknown) => void;
  enqueuedAt: number;
  timer: NodeJS.Timeout;
}

export interface PoolStats {
  /** Open connections (idle + in use). */
  total: number;
  inUse: number;
  idle: number;
  /** Connections being opened. */
  opening: number;
  waiting: number;
  min: number;
  max: number;
  /** inUse / max, 0..1 (the 85% alert reads this). */
  utilisation: number;
  opened: number;
  closed: number;
  exhausted: number;
  breaker: BreakerState['kind'] | 'none';
}

export type CloseReason = 'idle' | 'lifetime' | 'validation' | 'error' | 'shutdown';

/** Metric names the engine registers as KPIs. */
export const POOL_METRICS = {
  utilisation: 'code_store_pool_utilisation_ratio',
  connections: 'code_store_pool_connections',
  waiting: 'code_store_pool_waiting',
  acquireWait: 'code_store_pool_acquire_wait_ms',
  exhausted: 'code_store_pool_exhausted_total',
  opened: 'code_store_pool_connections_opened_total',
  closed: 'code_store_pool_connections_closed_total',
} as const;

/** The acquire-wait histogram's declaration (declaring it again with these options returns the same one). */
export const ACQUIRE_WAIT_HISTOGRAM = { name: POOL_METRICS.acquireWait, help: 'Time to get a database connection from the pool', labelNames: ['pool'], unit: 'ms', max: 120_000 } as const;

/** pg / Node errors that mean the connection (or the server) is gone, not that the SQL was wrong. */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  if (isCodeError(err)) return err.code === 'STORE_UNAVAILABLE';
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '3D000' || code === '28P01' || code === '28000') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|not queryable|timeout expired|Client was closed|Connection closed/i.test(msg);
}

interface PoolInstruments {
  live: Map<string, PgPool>;
  wait: Histogram;
  exhausted: Counter;
  opened: Counter;
  closed: Counter;
}
const instrumentsByRegistry = new WeakMap<MetricsRegistry, PoolInstruments>();

/** One set of instruments per registry, reading every live pool (a registry refuses a second gauge callback of one name). */
function instrumentsFor(metrics: MetricsRegistry): PoolInstruments {
  const found = instrumentsByRegistry.get(metrics);
  if (found) return found;
  const live = new Map<string, PgPool>();
  const each = (f: (s: PoolStats) => number) => () => [...live].map(([pool, p]) => ({ labels: { pool }, value: f(p.stats()) }));
  metrics.gaugeCallback({ name: POOL_METRICS.utilisation, help: 'Database pool connections in use / pool max (0..1); warn at 0.85', labelNames: ['pool'], collect: each((s) => s.utilisation) });
  metrics.gaugeCallback({
    name: POOL_METRICS.connections,
    help: 'Database pool connections by state',
    labelNames: ['pool', 'state'],
    collect: () =>
      [...live].flatMap(([pool, p]) => {
        const s = p.stats();
        return [
          { labels: { pool, state: 'in_use' }, value: s.inUse },
          { labels: { pool, state: 'idle' }, value: s.idle },
          { labels: { pool, state: 'opening' }, value: s.opening },
        ];
      }),
  });
  metrics.gaugeCallback({ name: POOL_METRICS.waiting, help: 'Callers waiting for a database connection', labelNames: ['pool'], collect: each((s) => s.waiting) });
  const inst: PoolInstruments = {
    live,
    wait: metrics.histogram(ACQUIRE_WAIT_HISTOGRAM),
    exhausted: metrics.counter({ name: POOL_METRICS.exhausted, help: 'Acquires refused: the wait queue was full or the wait timed out', labelNames: ['pool', 'reason'] }),
    opened: metrics.counter({ name: POOL_METRICS.opened, help: 'Database connections opened (churn)', labelNames: ['pool'] }),
    closed: metrics.counter({ name: POOL_METRICS.closed, help: 'Database connections closed (churn), by reason', labelNames: ['pool', 'reason'] }),
  };
  instrumentsByRegistry.set(metrics, inst);
  return inst;
}

export class PgPool {
  private readonly opts: Required<Omit<PgPoolOptions, 'breaker' | 'metrics' | 'client' | 'now'>> & { client: pg.ClientConfig };
  private readonly breaker: PoolBreaker | undefined;
  private readonly now: () => number;
  private readonly idle: Conn[] = [];
  private readonly busy = new Set<Conn>();
  private readonly waiters: Waiter[] = [];
  private opening = 0;
  private nextId = 1;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly counts = { opened: 0, closed: 0, exhausted: 0 };
  private readonly m: { wait?: Histogram; exhausted?: Counter; opened?: Counter; closed?: Counter; labels: { pool: string } };
  private live: Map<string, PgPool> | undefined;

  constructor(opts: PgPoolOptions) {
    const max = opts.max ?? 10;
    if (!Number.isInteger(max) || max < 1 || max > 10_000) throw new StoreError('STORE_UNAVAILABLE', `pool max must be an integer from 1 to 10000, got ${max}`, { key: 'max' });
    const min = Math.min(opts.min ?? 0, max);
    if (!Number.isInteger(min) || min < 0) throw new StoreError('STORE_UNAVAILABLE', `pool min must be a non-negative integer, got ${opts.min}`, { key: 'min' });
    this.opts = {
      client: opts.client,
      min,
      max,
      acquireTimeoutMs: opts.acquireTimeoutMs ?? 10_000,
      maxWaiting: opts.maxWaiting ?? max * 4,
      idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
      maxLifetimeMs: opts.maxLifetimeMs ?? 30 * 60_000,
      validateAfterIdleMs: opts.validateAfterIdleMs ?? 5_000,
      validationTimeoutMs: opts.validationTimeoutMs ?? 2_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      name: opts.name ?? 'main',
    };
    this.breaker = opts.breaker;
    this.now = opts.now ?? Date.now;
    this.m = { labels: { pool: this.opts.name } };
    if (opts.metrics) this.registerMetrics(opts.metrics);
    const tick = Math.max(250, Math.min(5_000, Math.floor(this.opts.idleTimeoutMs / 2)));
    this.timer = setInterval(() => this.maintain(), tick);
    this.timer.unref();
    if (this.opts.min > 0) queueMicrotask(() => this.maintain());
  }

  private registerMetrics(metrics: MetricsRegistry): void {
    const inst = instrumentsFor(metrics);
    inst.live.set(this.opts.name, this);
    this.live = inst.live;
    this.m.wait = inst.wait;
    this.m.exhausted = inst.exhausted;
    this.m.opened = inst.opened;
    this.m.closed = inst.closed;
  }

  /** A connection for the caller's exclusive use; give it back with `release`. */
  async acquire(): Promise<PooledConnection> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
    const started = this.now();
    for (;;) {
      const conn = this.idle.pop();
      if (!conn) break;
      const t = this.now();
      if (t >= conn.expiresAt) {
        this.destroy(conn, 'lifetime');
        continue;
      }
      if (t - conn.lastUsedAt >= this.opts.validateAfterIdleMs) {
        this.busy.add(conn); // counted as in use while it is checked
        const ok = await this.validate(conn);
        if (!ok) {
          this.busy.delete(conn);
          this.destroy(conn, 'validation');
          continue;
        }
        this.busy.delete(conn);
      }
      return this.handOut(conn, started);
    }
    if (this.busy.size + this.idle.length + this.opening < this.opts.max) {
      const conn = await this.open();
      return this.handOut(conn, started);
    }
    if (this.waiters.length >= this.opts.maxWaiting) {
      throw this.exhausted('queue-full', `all ${this.opts.max} database connections are busy and ${this.waiters.length} callers already wait (store.poolMaxWaiting)`);
    }
    const conn = await new Promise<Conn>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        enqueuedAt: started,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(this.exhausted('acquire-timeout', `no database connection became free within ${this.opts.acquireTimeoutMs} ms (store.poolAcquireTimeoutMs); ${this.opts.max} busy`));
        }, this.opts.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
    // A waiter is handed a connection already marked busy.
    this.m.wait?.record(this.now() - started, this.m.labels);
    return conn;
  }

  private handOut(conn: Conn, started: number): Conn {
    if (this.closed) {
      this.destroy(conn, 'shutdown');
      throw new StoreError('STORE_CLOSED', 'the store is closed');
    }
    this.busy.add(conn);
    this.m.wait?.record(this.now() - started, this.m.labels);
    return conn;
  }

  private exhausted(reason: 'queue-full' | 'acquire-timeout', message: string): StoreError {
    this.counts.exhausted++;
    this.m.exhausted?.inc({ ...this.m.labels, reason });
    return new StoreError('STORE_POOL_EXHAUSTED', message, { reason, max: this.opts.max, waiting: this.waiters.length, pool: this.opts.name });
  }

  /**
   * Gives a connection back. Pass the error the caller saw: a connection-level error (or a broken
   * connection) closes it instead of handing a dead socket to the next caller.
   */
  release(c: PooledConnection, err?: unknown): void {
    const conn = c as Conn;
    if (!this.busy.delete(conn)) return; // released twice
    if (conn.broken || (err !== undefined && isConnectionError(err))) {
      this.destroy(conn, 'error');
      this.refill();
      return;
    }
    const t = this.now();
    conn.lastUsedAt = t;
    if (this.closed) {
      this.destroy(conn, 'shutdown');
      return;
    }
    if (t >= conn.expiresAt) {
      this.destroy(conn, 'lifetime');
      this.refill();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      this.busy.add(conn);
      waiter.resolve(conn);
      return;
    }
    this.idle.push(conn);
  }

  /** A slot freed up: open a connection for the first waiter (or fail it fast when the server is down). */
  private refill(): void {
    if (this.closed || this.waiters.length === 0) return;
    if (this.busy.size + this.idle.length + this.opening >= this.opts.max) return;
    this.open().then(
      (conn) => {
        const waiter = this.waiters.shift();
        if (!waiter) {
          conn.lastUsedAt = this.now();
          this.idle.push(conn);
          return;
        }
        clearTimeout(waiter.timer);
        this.busy.add(conn);
        waiter.resolve(conn);
      },
      (err) => {
        const waiter = this.waiters.shift();
        if (waiter) {
          clearTimeout(waiter.timer);
          waiter.reject(err);
        }
        this.refill();
      },
    );
  }

  private async validate(conn: Conn): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        conn.client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('validation timeout expired')), this.opts.validationTimeoutMs);
        }),
      ]);
      return !conn.broken;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(): Promise<Conn> {
    this.opening++;
    try {
      const connect = () => this.connect();
      return this.breaker ? await this.breaker.execute(connect) : await connect();
    } catch (err) {
      if (isCodeError(err) && err.code.startsWith('STORE_')) throw err;
      const state = this.breakerState();
      if (isCodeError(err) && err.code === 'RESILIENCE_BREAKER_OPEN') {
        throw new StoreError('STORE_UNAVAILABLE', `database unreachable: recent connection attempts failed, so the pool's circuit breaker is ${state} and refuses new ones for now`, { breaker: state, pool: this.opts.name }, { cause: err });
      }
      throw new StoreError('STORE_UNAVAILABLE', `database unreachable: ${(err as Error).message}`, { breaker: state, pool: this.opts.name }, { cause: err });
    } finally {
      this.opening--;
    }
  }

  private async connect(): Promise<Conn> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
    const client = new pg.Client({ ...this.opts.client, connectionTimeoutMillis: this.opts.connectTimeoutMs });
    const t = this.now();
    const conn: Conn = { client, id: this.nextId++, createdAt: t, lastUsedAt: t, expiresAt: t + this.opts.maxLifetimeMs * (0.9 + Math.random() * 0.1), broken: false };
    // Without a listener a server restart would crash the process through an unhandled 'error'.
    client.on('error', () => {
      conn.broken = true;
      const i = this.idle.indexOf(conn);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.destroy(conn, 'error');
      }
    });
    client.on('end', () => {
      conn.broken = true;
    });
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => undefined);
      throw new StoreError('STORE_UNAVAILABLE', `cannot connect to PostgreSQL: ${(err as Error).message}`, { pool: this.opts.name, cause: (err as { code?: string }).code }, { cause: err });
    }
    if (this.closed) {
      client.end().catch(() => undefined);
      throw new StoreError('STORE_CLOSED', 'the store is closed');
    }
    this.counts.opened++;
    this.m.opened?.inc(this.m.labels);
    return conn;
  }

  private destroy(conn: Conn, reason: CloseReason): void {
    conn.broken = true;
    this.counts.closed++;
    this.m.closed?.inc({ ...this.m.labels, reason });
    conn.client.end().catch(() => undefined);
  }

  /** Closes idle connections past their idle time or lifetime, and tops the pool up to `min`. */
  private maintain(): void {
    if (this.closed) return;
    const t = this.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      const total = this.busy.size + this.idle.length + this.opening;
      let reason: CloseReason | undefined;
      if (t >= conn.expiresAt) reason = 'lifetime';
      else if (total > this.opts.min && t - conn.lastUsedAt >= this.opts.idleTimeoutMs) reason = 'idle';
      if (reason) {
        this.idle.splice(i, 1);
        this.destroy(conn, reason);
      }
    }
    if (this.breakerState() === 'open') return;
    const missing = this.opts.min - (this.busy.size + this.idle.length + this.opening);
    for (let i = 0; i < missing; i++) {
      this.open().then(
        (conn) => {
          if (this.closed) return this.destroy(conn, 'shutdown');
          const waiter = this.waiters.shift();
          if (waiter) {
            clearTimeout(waiter.timer);
            this.busy.add(conn);
            waiter.resolve(conn);
          } else this.idle.push(conn);
        },
        () => undefined, // the next tick tries again; the breaker keeps the attempts sparse
      );
    }
  }

  private breakerState(): PoolStats['breaker'] {
    return this.breaker ? (this.breaker.state?.kind ?? 'closed') : 'none';
  }

  /** The `pool` label of this pool's metrics. */
  get name(): string {
    return this.opts.name;
  }

  stats(): PoolStats {
    return {
      total: this.busy.size + this.idle.length,
      inUse: this.busy.size,
      idle: this.idle.length,
      opening: this.opening,
      waiting: this.waiters.length,
      min: this.opts.min,
      max: this.opts.max,
      utilisation: this.busy.size / this.opts.max,
      opened: this.counts.opened,
      closed: this.counts.closed,
      exhausted: this.counts.exhausted,
      breaker: this.breakerState(),
    };
  }

  /** Refuses new acquires, fails the waiters, closes idle connections and waits (up to `graceMs`) for busy ones. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.live?.get(this.opts.name) === this) this.live.delete(this.opts.name);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
    }
    const ends: Promise<unknown>[] = [];
    for (const conn of this.idle.splice(0)) {
      this.counts.closed++;
      this.m.closed?.inc({ ...this.m.labels, reason: 'shutdown' });
      ends.push(conn.client.end().catch(() => undefined));
    }
    const deadline = this.now() + graceMs;
    while (this.busy.size > 0 && this.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.busy) {
      this.counts.closed++;
      this.m.closed?.inc({ ...this.m.labels, reason: 'shutdown' });
      ends.push(conn.client.end().catch(() => undefined));
    }
    this.busy.clear();
    await Promise.all(ends);
  }
}
