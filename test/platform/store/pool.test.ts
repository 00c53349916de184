// PostgresStore's pool against the real PostgreSQL server: bounds, timeouts, recycling, validation,
// breaker and metrics. Each test gets its own schema (test/helpers/stores.ts).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import pg from 'pg';
import { hasCode } from '../../../src/platform/errors.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { POOL_METRICS } from '../../../src/platform/store/pool.js';
import type { PooledConnection } from '../../../src/platform/store/pool.js';
import { PostgresStore } from '../../../src/platform/store/postgres.js';
import type { PostgresStoreOptions } from '../../../src/platform/store/postgres.js';
import { DATABASE_URL, openPostgres } from '../../helpers/stores.js';
import type { OpenedStore } from '../../helpers/stores.js';

const opened: OpenedStore<PostgresStore>[] = [];
after(async () => {
  for (const o of opened) await o.dispose();
});
async function fresh(opts: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const o = await openPostgres(opts);
  opened.push(o);
  return o.store;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function backendPid(conn: PooledConnection): Promise<number> {
  return (await conn.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

test('a full wait queue fails fast with STORE_POOL_EXHAUSTED; waiters are served in order', async () => {
  const store = await fresh({ poolMax: 2, poolMaxWaiting: 2 });
  const pool = store.pool;
  const held = [await pool.acquire(), await pool.acquire()];
  const order: number[] = [];
  const w1 = pool.acquire().then((c) => (order.push(1), c));
  const w2 = pool.acquire().then((c) => (order.push(2), c));
  assert.equal(pool.stats().waiting, 2);
  const t0 = performance.now();
  await assert.rejects(pool.acquire(), (e) => hasCode(e, 'STORE_POOL_EXHAUSTED') && e.details?.reason === 'queue-full' && /busy/.test(e.message));
  assert.ok(performance.now() - t0 < 100, 'refused without waiting');
  await assert.rejects(store.query('SELECT 1'), (e) => hasCode(e, 'STORE_POOL_EXHAUSTED'));
  assert.equal(pool.stats().exhausted, 2);
  pool.release(held[0]!);
  pool.release(held[1]!);
  const [c1, c2] = await Promise.all([w1, w2]);
  assert.deepEqual(order, [1, 2]);
  // Handed over, not reopened: still two connections.
  assert.equal(pool.stats().opened, 2);
  pool.release(c1);
  pool.release(c2);
  assert.deepEqual((await store.query('SELECT 1 AS one')), [{ one: 1 }]);
});

test('a caller waits at most acquireTimeoutMs', async () => {
  const store = await fresh({ poolMax: 1, acquireTimeoutMs: 150 });
  const held = await store.pool.acquire();
  const t0 = performance.now();
  await assert.rejects(store.pool.acquire(), (e) => hasCode(e, 'STORE_POOL_EXHAUSTED') && e.details?.reason === 'acquire-timeout');
  const waited = performance.now() - t0;
  assert.ok(waited >= 140 && waited < 2_000, `waited ${waited} ms`);
  assert.equal(store.pool.stats().waiting, 0);
  store.pool.release(held);
  await store.ping();
});

test('connections are recycled after maxLifetimeMs', async () => {
  const store = await fresh({ poolMax: 1, maxLifetimeMs: 200 });
  const a = await store.pool.acquire();
  const pidA = await backendPid(a);
  store.pool.release(a);
  const again = await store.pool.acquire();
  assert.equal(await backendPid(again), pidA, 'young connection reused');
  store.pool.release(again);
  await sleep(250);
  const b = await store.pool.acquire();
  assert.notEqual(await backendPid(b), pidA, 'old connection replaced');
  store.pool.release(b);
  assert.ok(store.pool.stats().closed >= 1);
});

test('idle connections above min are closed after idleTimeoutMs; min are opened up front', async () => {
  const store = await fresh({ poolMin: 1, poolMax: 4, idleTimeoutMs: 300 });
  for (let i = 0; i < 40 && store.pool.stats().total < 1; i++) await sleep(25);
  assert.equal(store.pool.stats().total, 1, 'min connection opened without any query');
  const held = await Promise.all([store.pool.acquire(), store.pool.acquire(), store.pool.acquire()]);
  assert.equal(store.pool.stats().total, 3);
  for (const c of held) store.pool.release(c);
  for (let i = 0; i < 80 && store.pool.stats().total > 1; i++) await sleep(25);
  assert.equal(store.pool.stats().total, 1, 'shrunk back to min');
});

test('a connection idle past validateAfterIdleMs is checked with SELECT 1 before reuse', async () => {
  const store = await fresh({ poolMax: 1, validateAfterIdleMs: 100 });
  const c = await store.pool.acquire();
  const pid = await backendPid(c);
  await c.client.query("SELECT 'marker' AS m");
  store.pool.release(c);
  const lastQuery = () => admin(async (a) => (await a.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]!.query);
  // Reused at once: no validation round trip.
  const quick = await store.pool.acquire();
  assert.equal(await lastQuery(), "SELECT 'marker' AS m");
  await quick.client.query("SELECT 'marker2' AS m");
  store.pool.release(quick);
  await sleep(150);
  const later = await store.pool.acquire();
  assert.equal(await lastQuery(), 'SELECT 1');
  store.pool.release(later);
});

test('a connection killed by the server is replaced, not handed out dead', async () => {
  const store = await fresh({ poolMax: 1, validateAfterIdleMs: 0 });
  const c = await store.pool.acquire();
  const pid = await backendPid(c);
  store.pool.release(c);
  await admin((a) => a.query('SELECT pg_terminate_backend($1)', [pid]));
  const rows = await store.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  assert.notEqual(rows[0]!.pid, pid);
  assert.equal(store.pool.stats().total, 1);
});

test('a statement over statementTimeoutMs fails with STORE_TIMEOUT and the pool stays usable', async () => {
  const store = await fresh({ poolMax: 1, statementTimeoutMs: 150 });
  await assert.rejects(store.query('SELECT pg_sleep(3)'), (e) => hasCode(e, 'STORE_TIMEOUT') && /statementTimeoutMs/.test(e.message));
  assert.deepEqual(await store.query('SELECT 2 AS two'), [{ two: 2 }]);
});

test('a transaction left idle past idleInTransactionTimeoutMs is ended by the server; the pool recovers', async () => {
  const store = await fresh({ poolMax: 1, idleInTransactionTimeoutMs: 150 });
  await store.run('CREATE TABLE t (v INTEGER)');
  await assert.rejects(
    store.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', [1]);
      await sleep(400);
      await tx.run('INSERT INTO t (v) VALUES (?)', [2]);
    }),
    (e) => hasCode(e, 'STORE_UNAVAILABLE'),
  );
  assert.deepEqual(await store.query('SELECT COUNT(*) AS c FROM t'), [{ c: 0 }]);
});

test('the breaker opens after failed connects and fails callers fast', async () => {
  // A port nobody listens on.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const store = new PostgresStore({ url: `postgres://postgres@127.0.0.1:${port}/test`, poolMax: 2, breakerFailures: 2, breakerOpenMs: 60_000 });
  try {
    for (let i = 0; i < 2; i++) {
      await assert.rejects(store.ping(), (e) => hasCode(e, 'STORE_UNAVAILABLE') && /cannot connect/.test(e.message));
    }
    assert.equal(store.stats().pool.breaker, 'open');
    const t0 = performance.now();
    await assert.rejects(store.ping(), (e) => hasCode(e, 'STORE_UNAVAILABLE') && e.details?.breaker === 'open');
    assert.ok(performance.now() - t0 < 50);
  } finally {
    await store.close();
  }
});

test('pool metrics: utilisation, waiting, acquire wait, exhaustion and churn, for two pools on one registry', async () => {
  const metrics = createMetricsRegistry();
  const a = await fresh({ poolMax: 2, poolMaxWaiting: 1, metrics, name: 'a' });
  const b = await fresh({ poolMax: 3, metrics, name: 'b' });
  const held = [await a.pool.acquire(), await a.pool.acquire()];
  await b.ping();
  const waiter = a.pool.acquire();
  await assert.rejects(a.pool.acquire(), (e) => hasCode(e, 'STORE_POOL_EXHAUSTED'));
  const text = metrics.exposition();
  assert.match(text, new RegExp(`${POOL_METRICS.utilisation}\\{pool="a"\\} 1\\b`));
  assert.match(text, new RegExp(`${POOL_METRICS.utilisation}\\{pool="b"\\} 0\\b`));
  assert.match(text, new RegExp(`${POOL_METRICS.waiting}\\{pool="a"\\} 1\\b`));
  assert.match(text, new RegExp(`${POOL_METRICS.connections}\\{pool="a",state="in_use"\\} 2\\b`));
  assert.match(text, new RegExp(`${POOL_METRICS.exhausted}\\{pool="a",reason="queue-full"\\} 1\\b`));
  assert.match(text, new RegExp(`${POOL_METRICS.opened}\\{pool="a"\\} 2\\b`));
  assert.match(text, /code_breaker_state\{breaker="store.a"\} 0/);
  a.pool.release(held[0]!);
  const c = await waiter;
  a.pool.release(c, Object.assign(new Error('Connection terminated unexpectedly'))); // a dead connection is closed
  a.pool.release(held[1]!);
  const wait = metrics.histogram({ name: POOL_METRICS.acquireWait, help: 'Time to get a database connection from the pool', labelNames: ['pool'], unit: 'ms', max: 120_000 });
  assert.equal(wait.snapshot({ pool: 'a' }).count, 3);
  assert.ok(wait.snapshot({ pool: 'a' }).max > 0, 'the waiter waited');
  assert.match(metrics.exposition(), new RegExp(`${POOL_METRICS.closed}\\{pool="a",reason="error"\\} 1\\b`));
});

test('BIGINT beyond 2^53 comes back exact, as a bigint', async () => {
  const store = await fresh();
  const rows = await store.query<{ big: unknown; small: unknown }>('SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small');
  assert.deepEqual(rows, [{ big: 9007199254740993n, small: 42 }]);
  // The global pg parser was left alone.
  assert.equal(pg.types.getTypeParser(20, 'text')('5'), '5');
});
