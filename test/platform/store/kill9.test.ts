// The engine killed with kill -9 in the middle of a bulk insert leaves no partial batch: every chunk
// of 1,000 rows is in the database whole or not at all, on SQLite and PostgreSQL (COPY and INSERT).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DATABASE_URL, openPostgres, openSqlite } from '../../helpers/stores.js';

const CHILD = fileURLToPath(new URL('./_bulk-child.ts', import.meta.url));
const CHUNK = 1_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startChild(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => ({ out, err }) };
}

/** Polls `count()` until at least `chunks` chunks are committed; returns how long one chunk takes. */
async function waitForChunks(count: () => Promise<number>, chunks: number, output: () => { out: string; err: string }): Promise<number> {
  let last = -1;
  let lastChange = 0;
  let perChunk = 0;
  for (let i = 0; i < 1_200; i++) {
    const n = await count();
    if (n !== last) {
      const t = performance.now();
      if (last >= 0 && n > last) perChunk = (t - lastChange) / ((n - last) / CHUNK);
      last = n;
      lastChange = t;
      if (n >= chunks * CHUNK && perChunk > 0) return perChunk;
    }
    await sleep(10);
  }
  throw new Error(`child made no progress: ${JSON.stringify(output())}`);
}

function assertWholeChunks(perBatch: Map<number, number>, total: number): void {
  assert.ok(total >= 2 * CHUNK, `at least two chunks committed (${total})`);
  assert.ok(total < 1_000_000, 'killed before the end');
  assert.equal(total % CHUNK, 0, `row count ${total} is whole chunks`);
  for (const [batch, n] of perBatch) assert.equal(n, CHUNK, `batch ${batch} has ${n} rows`);
  // Chunks commit in order: batches 0..k-1 present, nothing after.
  assert.deepEqual([...perBatch.keys()].sort((a, b) => a - b), Array.from({ length: perBatch.size }, (_, i) => i));
}

test('SQLite: kill -9 mid-chunk leaves whole chunks only', async () => {
  const opened = await openSqlite();
  try {
    const { store, location } = opened;
    await store.migrate([
      {
        id: 'kill9/001',
        // Each insert scans a filler table, so a chunk takes long enough to be killed in the middle of.
        up: `CREATE TABLE bulk (batch INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT);
CREATE TABLE filler (v INTEGER);
CREATE TRIGGER slow AFTER INSERT ON bulk BEGIN SELECT SUM(v) FROM filler; END`,
      },
    ]);
    await store.insertMany('filler', ['v'], Array.from({ length: 3_000 }, (_, i) => [i]));
    await store.close();

    const reader = new Database(location, { readonly: true });
    try {
      const count = async () => (reader.prepare('SELECT COUNT(*) AS c FROM bulk').get() as { c: number }).c;
      const { child, exited, output } = startChild(['sqlite', location]);
      const perChunk = await waitForChunks(count, 2, output);
      await sleep(perChunk / 2); // the middle of the next chunk
      // Show the kill lands mid-chunk: the child holds the write lock of an open transaction.
      const probe = new Database(location, { timeout: 0 });
      try {
        assert.throws(() => probe.exec('BEGIN IMMEDIATE'), (e: { code?: string }) => e.code === 'SQLITE_BUSY');
      } finally {
        if (probe.inTransaction) probe.exec('ROLLBACK');
        probe.close();
      }
      child.kill('SIGKILL');
      const { signal } = await exited;
      assert.equal(signal, 'SIGKILL');
    } finally {
      reader.close();
    }
    // Reopen as the restarted engine would (WAL recovery), then look.
    const db = new Database(location);
    try {
      const perBatch = new Map((db.prepare('SELECT batch, COUNT(*) AS n FROM bulk GROUP BY batch').all() as { batch: number; n: number }[]).map((r) => [r.batch, r.n]));
      const total = (db.prepare('SELECT COUNT(*) AS c FROM bulk').get() as { c: number }).c;
      assertWholeChunks(perBatch, total);
    } finally {
      db.close();
    }
  } finally {
    await opened.dispose();
  }
});

for (const method of ['copy', 'insert'] as const) {
  test(`PostgreSQL (${method}): kill -9 mid-chunk leaves whole chunks only`, async () => {
    const opened = await openPostgres();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      const { store, location: schema } = opened;
      await store.migrate([
        {
          id: 'kill9/001',
          up: `CREATE TABLE bulk (batch INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT);
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$;
CREATE TRIGGER slow BEFORE INSERT ON bulk FOR EACH ROW EXECUTE FUNCTION slow_row()`,
        },
      ]);
      const count = async () => Number((await admin.query(`SELECT COUNT(*) AS c FROM ${schema}.bulk`)).rows[0].c);
      const { child, exited, output } = startChild(['postgres', DATABASE_URL, schema, method]);
      const perChunk = await waitForChunks(count, 2, output);
      await sleep(perChunk / 2);
      // Show the kill lands mid-statement: the child's backend is busy writing a chunk.
      const active = await admin.query(`SELECT query FROM pg_stat_activity WHERE application_name = 'bulk-child' AND state = 'active'`);
      assert.equal(active.rows.length, 1, 'a chunk is being written when the child is killed');
      assert.match(active.rows[0].query, method === 'copy' ? /^COPY / : /^INSERT /);
      child.kill('SIGKILL');
      assert.equal((await exited).signal, 'SIGKILL');
      // The server notices the dropped connection and aborts the statement.
      for (let i = 0; i < 500; i++) {
        const left = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'bulk-child'`);
        if (left.rows.length === 0) break;
        await sleep(20);
      }
      const perBatch = new Map((await admin.query(`SELECT batch, COUNT(*) AS n FROM ${schema}.bulk GROUP BY batch`)).rows.map((r) => [r.batch as number, Number(r.n)]));
      assertWholeChunks(perBatch, await count());
    } finally {
      await admin.end();
      await opened.dispose();
    }
  });
}
