// `npm run bench -- store [--rounds N]`: the data layer, in one run.
//   PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, in a throwaway schema):
//     - rows/s of insertMany via COPY, via multi-row INSERT, and single-row INSERTs through the pool;
//       COPY and single-row are also run on bare pg (pg-copy-streams on one client, pg.Pool) as the limit;
//     - acquire wait P99 under 2x overload (twice as many concurrent queries as connections), minus
//       the queries' own P99 time, for our pool and for pg.Pool.
//   SQLite: insertMany vs raw better-sqlite3 running the same INSERT in the same 1,000-row transactions.
// Ours and the peer alternate (order flipped each round); medians are reported.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { createMetricsRegistry } from '../src/platform/metrics/registry.js';
import { POOL_METRICS } from '../src/platform/store/pool.js';
import { PostgresStore } from '../src/platform/store/postgres.js';
import { copyText } from '../src/platform/store/sql.js';
import { SqliteStore } from '../src/platform/store/sqlite.js';
import type { SqlValue } from '../src/platform/store/types.js';
import { emit, median, round } from './_lib.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}
const ROUNDS = arg('rounds', 3);
const URL_ = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POOL = 8;
const gc = (globalThis as { gc?: () => void }).gc;

const row = (i: number): SqlValue[] => [`id-${i}`, i, 1_700_000_000_000 + i, `message number ${i} from host-${i % 50}`];
const COLS = ['id', 'n', 'at', 'body'];
const rowsOf = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => row(offset + i));

/** rows/s of `fn`, which writes `n` rows. */
async function rate(n: number, fn: () => Promise<unknown>): Promise<number> {
  gc?.();
  const t0 = performance.now();
  await fn();
  return n / ((performance.now() - t0) / 1000);
}

async function alternate(rounds: number, ours: () => Promise<number>, peer: () => Promise<number>): Promise<{ ours: number; peer: number }> {
  const o: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      o.push(await ours());
      p.push(await peer());
    } else {
      p.push(await peer());
      o.push(await ours());
    }
  }
  return { ours: median(o), peer: median(p) };
}

/** Runs `task` `total` times with `concurrency` callers in flight. */
async function concurrently(total: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
}

async function postgres(): Promise<void> {
  const schema = `bench_store_${process.pid}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const metrics = createMetricsRegistry();
  const store = new PostgresStore({ url: URL_, schema, poolMax: POOL, metrics, statementTimeoutMs: 0 });
  const searchPath = `${URL_}${URL_.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const raw = new pg.Pool({ connectionString: searchPath, max: POOL });
  try {
    await store.migrate([{ id: 'bench/001', up: 'CREATE TABLE ours (id TEXT, n INTEGER, at BIGINT, body TEXT);\nCREATE TABLE peer (id TEXT, n INTEGER, at BIGINT, body TEXT)' }]);
    const reset = async () => {
      await admin.query(`TRUNCATE ${schema}.ours, ${schema}.peer`);
    };

    // COPY: our insertMany vs bare pg-copy-streams sending the same COPY statements (same chunks,
    // same text encoding) one after another on one pooled client. Each chunk commits on its own, so
    // the chunk size sets the number of WAL flushes: figures for 1,000 (the default) and 10,000.
    const COPY_ROWS = 100_000;
    const copyRows = rowsOf(COPY_ROWS);
    store.useCopy = () => true;
    const rawCopy = (chunk: number) => async () => {
      const c = await raw.connect();
      try {
        for (let start = 0; start < COPY_ROWS; start += chunk) {
          const payload = copyText(copyRows.slice(start, start + chunk), COLS.length);
          await new Promise<void>((resolve, reject) => {
            const s = c.query(copyStreams.from(`COPY peer (${COLS.join(', ')}) FROM STDIN`));
            s.on('finish', () => resolve());
            s.on('error', reject);
            s.end(payload);
          });
        }
      } finally {
        c.release();
      }
    };
    for (const chunk of [1_000, 10_000]) {
      const copy = await alternate(
        ROUNDS,
        async () => {
          await reset();
          return rate(COPY_ROWS, () => store.insertMany('ours', COLS, copyRows, { chunkSize: chunk }));
        },
        async () => {
          await reset();
          return rate(COPY_ROWS, rawCopy(chunk));
        },
      );
      emit({ bench: `store.pg.insertMany.copy.chunk_${chunk}`, ours_rows_per_s: Math.round(copy.ours), peer: 'limit:pg-copy-streams', peer_rows_per_s: Math.round(copy.peer), ratio: round(copy.ours / copy.peer), rows: COPY_ROWS, chunk, rounds: ROUNDS });
    }

    // Multi-row INSERT (the fallback when the store.copy flag is off) vs COPY, both through our store.
    store.useCopy = () => false;
    const multi = await alternate(
      ROUNDS,
      async () => {
        await reset();
        return rate(COPY_ROWS, () => store.insertMany('ours', COLS, copyRows));
      },
      async () => {
        await reset();
        store.useCopy = () => true;
        try {
          return await rate(COPY_ROWS, () => store.insertMany('peer', COLS, copyRows));
        } finally {
          store.useCopy = () => false;
        }
      },
    );
    emit({ bench: 'store.pg.insertMany.multi_row_insert', ours_rows_per_s: Math.round(multi.ours), peer: 'store.pg.insertMany.copy', peer_rows_per_s: Math.round(multi.peer), ratio: round(multi.ours / multi.peer), rows: COPY_ROWS, chunk: 1000, rounds: ROUNDS });
    store.useCopy = () => true;

    // Single-row INSERTs, POOL callers in flight: our store.run vs pg.Pool.query.
    const SINGLE = 5_000;
    const single = await alternate(
      ROUNDS,
      async () => {
        await reset();
        return rate(SINGLE, () => concurrently(SINGLE, POOL, (i) => store.run('INSERT INTO ours (id, n, at, body) VALUES (?, ?, ?, ?)', row(i))));
      },
      async () => {
        await reset();
        return rate(SINGLE, () => concurrently(SINGLE, POOL, (i) => raw.query('INSERT INTO peer (id, n, at, body) VALUES ($1, $2, $3, $4)', row(i))));
      },
    );
    emit({ bench: 'store.pg.run.single_row_insert', ours_rows_per_s: Math.round(single.ours), peer: 'limit:pg.Pool', peer_rows_per_s: Math.round(single.peer), ratio: round(single.ours / single.peer), rows: SINGLE, concurrency: POOL, pool: POOL, rounds: ROUNDS });

    // Acquire wait under 2x overload: 2 x POOL callers on POOL connections, each query ~5 ms of its
    // own (pg_sleep). A waiter waits about one query's time for a connection; what the pool adds is
    // the rest: acquire wait P99 minus the queries' own P99, both taken in the same run, and the
    // hand-off (release → the next caller running with that connection).
    const QUERY = 'SELECT pg_sleep(0.005)';
    const OPS = 2_000;
    type Sample = { wait: number[]; own: number[]; handoff: number[] };
    const overload = async <C extends object>(acquire: () => Promise<C>, query: (c: C) => Promise<unknown>, release: (c: C) => void): Promise<Sample> => {
      const s: Sample = { wait: [], own: [], handoff: [] };
      const releasedAt = new WeakMap<C, number>();
      await concurrently(OPS, POOL * 2, async () => {
        const t0 = performance.now();
        const c = await acquire();
        const t1 = performance.now();
        const rel = releasedAt.get(c);
        if (rel !== undefined && rel >= t0) s.handoff.push(t1 - rel);
        s.wait.push(t1 - t0);
        await query(c);
        s.own.push(performance.now() - t1);
        releasedAt.set(c, performance.now());
        release(c);
      });
      return s;
    };
    const waitHist = metrics.histogram({ name: POOL_METRICS.acquireWait, help: 'Time to get a database connection from the pool', labelNames: ['pool'], unit: 'ms', max: 120_000 });
    const before = waitHist.snapshot({ pool: 'main' }).count;
    const ours = await overload(() => store.pool.acquire(), (c) => c.client.query(QUERY), (c) => store.pool.release(c));
    const theirs = await overload(() => raw.connect(), (c) => c.query(QUERY), (c) => c.release());
    const fig = (x: Sample) => ({ wait: p99(x.wait), own: p99(x.own), excess: p99(x.wait) - p99(x.own), handoff: p99(x.handoff) });
    const o = fig(ours);
    const t = fig(theirs);
    emit({
      bench: 'store.pg.acquire_wait_2x_overload',
      acquire_wait_p99_ms: round(o.wait),
      query_own_p99_ms: round(o.own),
      excess_p99_ms: round(o.excess),
      handoff_p99_ms: round(o.handoff),
      target_excess_ms: 5,
      // The pool's own histogram saw every one of these acquires.
      metric_samples: waitHist.snapshot({ pool: 'main' }).count - before,
      peer: 'pg.Pool',
      peer_acquire_wait_p99_ms: round(t.wait),
      peer_query_own_p99_ms: round(t.own),
      peer_excess_p99_ms: round(t.excess),
      peer_handoff_p99_ms: round(t.handoff),
      callers: POOL * 2,
      pool: POOL,
      ops: OPS,
    });
  } finally {
    await store.close();
    await raw.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

async function sqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  try {
    const store = new SqliteStore({ path: join(dir, 'ours.db') });
    const db = new Database(join(dir, 'peer.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const DDL = 'CREATE TABLE t (id TEXT, n INTEGER, at BIGINT, body TEXT)';
    await store.migrate([{ id: 'bench/001', up: DDL }]);
    db.exec(DDL);
    const ROWS = 200_000;
    const CHUNK = 1_000;
    const rows = rowsOf(ROWS);
    const SQL = `INSERT INTO t (${COLS.join(', ')}) VALUES (?, ?, ?, ?)`;
    const res = await alternate(
      ROUNDS + 4,
      async () => {
        await store.run('DELETE FROM t');
        return rate(ROWS, () => store.insertMany('t', COLS, rows, { chunkSize: CHUNK }));
      },
      async () => {
        db.exec('DELETE FROM t');
        return rate(ROWS, async () => {
          // The same statements as SqliteStore: BEGIN IMMEDIATE, the prepared INSERT per row, COMMIT.
          const stmt = db.prepare(SQL);
          for (let start = 0; start < ROWS; start += CHUNK) {
            const end = Math.min(ROWS, start + CHUNK);
            db.exec('BEGIN IMMEDIATE');
            for (let i = start; i < end; i++) stmt.run(rows[i]);
            db.exec('COMMIT');
          }
        });
      },
    );
    emit({ bench: 'store.sqlite.insertMany', ours_rows_per_s: Math.round(res.ours), peer: 'limit:better-sqlite3', peer_rows_per_s: Math.round(res.peer), ratio: round(res.ours / res.peer), target_ratio: 0.9, rows: ROWS, chunk: CHUNK, rounds: ROUNDS + 4 });
    await store.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await sqlite();
await postgres();
