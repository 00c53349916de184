// The Store contract, run unchanged against SqliteStore and PostgresStore (test/helpers/stores.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import type { Migration } from '../../../src/platform/store/types.js';
import { forEachStore } from '../../helpers/stores.js';

const migrations: Migration[] = [
  {
    id: 'contract/001-items',
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL, at BIGINT, score DOUBLE PRECISION, body TEXT);
CREATE INDEX items_n ON items (n)`,
  },
  { id: 'contract/002-tags', up: 'CREATE TABLE tags (item_id TEXT NOT NULL REFERENCES items (id), tag TEXT NOT NULL, CHECK (length(tag) > 0))' },
];

test('migrations apply once, in order, and record their ids', (t) =>
  forEachStore(t, async (store) => {
    assert.deepEqual(await store.migrate(migrations), ['contract/001-items', 'contract/002-tags']);
    assert.deepEqual(await store.migrate(migrations), []);
    const more = [...migrations, { id: 'contract/003-extra', up: 'ALTER TABLE items ADD COLUMN extra TEXT' }];
    assert.deepEqual(await store.migrate(more), ['contract/003-extra']);
    const ids = await store.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
    assert.deepEqual(ids.map((r) => r.id), ['contract/001-items', 'contract/002-tags', 'contract/003-extra']);
  }));

test('a failing migration leaves nothing of itself and is not recorded', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const bad: Migration = { id: 'contract/003-bad', up: 'CREATE TABLE half (id TEXT);\nCREATE TABLE items (id TEXT)' };
    await assert.rejects(store.migrate([...migrations, bad]), (e) => hasCode(e, 'STORE_MIGRATION_FAILED') && e.details?.migration === 'contract/003-bad');
    // The first statement of the failed migration was rolled back with it.
    await assert.rejects(store.query('SELECT * FROM half'), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
    const ids = await store.query<{ id: string }>('SELECT id FROM schema_migrations WHERE id = ?', ['contract/003-bad']);
    assert.equal(ids.length, 0);
  }));

test('per-dialect migrations pick their own SQL', (t) =>
  forEachStore(t, async (store, dialect) => {
    await store.migrate([{ id: 'contract/010-dialect', up: { sqlite: "CREATE TABLE d (v TEXT DEFAULT 'sqlite')", postgres: "CREATE TABLE d (v TEXT DEFAULT 'postgres')" } }]);
    await store.run('INSERT INTO d DEFAULT VALUES');
    assert.deepEqual(await store.query('SELECT v FROM d'), [{ v: dialect }]);
  }));

test('query and run with ? placeholders; types read back the same on both adapters', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const at = 1_735_689_600_123; // epoch ms beyond 2^32
    const r = await store.run('INSERT INTO items (id, n, at, score, body) VALUES (?, ?, ?, ?, ?)', ['a', 1, at, 0.5, "it's a '?' and \"?\""]);
    assert.equal(r.changes, 1);
    await store.run('INSERT INTO items (id, n, at, score, body) VALUES (?, ?, ?, ?, ?)', ['b', 2, BigInt(at) + 1n, null, null]);
    await store.run('INSERT INTO items (id, n, at, score, body) VALUES (?, ?, ?, ?, ?)', ['c', true, 7, 1e-3, 'tab\tnew\nline\\']);
    const rows = await store.query('SELECT id, n, at, score, body FROM items WHERE body IS NULL OR body <> ? ORDER BY id', ['?']);
    assert.deepEqual(rows, [
      { id: 'a', n: 1, at, score: 0.5, body: "it's a '?' and \"?\"" },
      { id: 'b', n: 2, at: at + 1, score: null, body: null },
      { id: 'c', n: 1, at: 7, score: 0.001, body: 'tab\tnew\nline\\' },
    ]);
    // Aggregates come back as numbers too (PostgreSQL's COUNT is BIGINT, SUM over it NUMERIC).
    const [agg] = await store.query<{ c: number; s: number }>('SELECT COUNT(*) AS c, SUM(at) AS s FROM items');
    assert.deepEqual(agg, { c: 3, s: at * 2 + 1 + 7 });
    // A literal '?' in the SQL text is not a placeholder.
    const lit = await store.query<{ q: string }>("SELECT '?' AS q FROM items WHERE id = ?", ['a']);
    assert.deepEqual(lit, [{ q: '?' }]);
    const upd = await store.run('UPDATE items SET n = n + 10 WHERE n < ?', [2]);
    assert.equal(upd.changes, 2);
  }));

test('constraint violations carry the same details.constraint on both adapters', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    await store.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 1]);
    await assert.rejects(store.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 2]), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'unique');
    await assert.rejects(store.run('INSERT INTO items (id, n) VALUES (?, ?)', ['z', null]), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'not-null');
    await assert.rejects(store.run('INSERT INTO tags (item_id, tag) VALUES (?, ?)', ['nope', 'x']), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'foreign-key');
    await assert.rejects(store.run('INSERT INTO tags (item_id, tag) VALUES (?, ?)', ['a', '']), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'check');
    await assert.rejects(store.query('SELEC nonsense'), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
    // The store is still usable after errors.
    assert.deepEqual(await store.query('SELECT id FROM items'), [{ id: 'a' }]);
  }));

test('transactions commit on resolve and roll back on throw', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const out = await store.transaction(async (tx) => {
      await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 1]);
      await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', ['b', 2]);
      return (await tx.query<{ c: number }>('SELECT COUNT(*) AS c FROM items'))[0]!.c;
    });
    assert.equal(out, 2);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', ['c', 3]);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', ['d', 4]);
        await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 5]); // duplicate
      }),
      (e) => hasCode(e, 'STORE_QUERY_FAILED'),
    );
    const ids = await store.query<{ id: string }>('SELECT id FROM items ORDER BY id');
    assert.deepEqual(ids.map((r) => r.id), ['a', 'b']);
  }));

test('concurrent transactions do not see or break each other', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.run('INSERT INTO items (id, n) VALUES (?, ?)', [`w${i}`, i]);
          await new Promise((r) => setTimeout(r, 5));
          await tx.run('UPDATE items SET n = n + 100 WHERE id = ?', [`w${i}`]);
        }),
      ),
    );
    const rows = await store.query<{ n: number }>('SELECT n FROM items ORDER BY n');
    assert.deepEqual(rows.map((r) => r.n), [100, 101, 102, 103, 104, 105, 106, 107]);
  }));

test('insertMany writes every row from arrays, generators and async iterables', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const make = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => [`${prefix}${i}`, i, 1_700_000_000_000 + i, i / 4, i % 7 === 0 ? null : `row\t${i}\n\\`] as const);
    assert.equal(await store.insertMany('items', ['id', 'n', 'at', 'score', 'body'], make('a', 2_500)), 2_500);
    function* gen() {
      yield* make('g', 1_001);
    }
    assert.equal(await store.insertMany('items', ['id', 'n', 'at', 'score', 'body'], gen(), { chunkSize: 100 }), 1_001);
    async function* agen() {
      for (const r of make('s', 30)) yield r;
    }
    assert.equal(await store.insertMany('items', ['id', 'n', 'at', 'score', 'body'], agen(), { chunkSize: 7 }), 30);
    const [c] = await store.query<{ c: number }>('SELECT COUNT(*) AS c FROM items');
    assert.equal(c!.c, 3_531);
    const [row] = await store.query('SELECT id, n, at, score, body FROM items WHERE id = ?', ['a1234']);
    assert.deepEqual(row, { id: 'a1234', n: 1234, at: 1_700_000_001_234, score: 308.5, body: 'row\t1234\n\\' });
    const [nul] = await store.query('SELECT body FROM items WHERE id = ?', ['g7']);
    assert.deepEqual(nul, { body: null });
    assert.equal(await store.insertMany('items', ['id', 'n'], []), 0);
  }));

test('insertMany commits whole chunks: a bad row fails its chunk only', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    const rows = Array.from({ length: 250 }, (_, i) => [`r${i}`, i] as [string, number]);
    rows[160] = ['r3', 160]; // duplicate key in the second chunk of 100
    await assert.rejects(store.insertMany('items', ['id', 'n'], rows, { chunkSize: 100 }), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'unique');
    const [c] = await store.query<{ c: number; mx: number }>('SELECT COUNT(*) AS c, MAX(n) AS mx FROM items');
    assert.deepEqual(c, { c: 100, mx: 99 });
  }));

test('insertMany refuses bad names, widths and chunk sizes with a clear error', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(migrations);
    await assert.rejects(store.insertMany('items; DROP TABLE items', ['id'], [['x']]), (e) => hasCode(e, 'STORE_QUERY_FAILED') && /invalid table name/.test(e.message));
    await assert.rejects(store.insertMany('items', ['id', 'n) VALUES (1,2); --'], [['x', 1]]), (e) => hasCode(e, 'STORE_QUERY_FAILED') && /invalid column name/.test(e.message));
    await assert.rejects(store.insertMany('items', [], [[]]), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
    await assert.rejects(store.insertMany('items', ['id', 'n'], [['x', 1], ['y']]), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.row === 1);
    await assert.rejects(store.insertMany('items', ['id', 'n'], [['x', 1]], { chunkSize: 0 }), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
    const [c] = await store.query<{ c: number }>('SELECT COUNT(*) AS c FROM items');
    assert.equal(c!.c, 0);
  }));

test('ping, stats and close', (t) =>
  forEachStore(t, async (store, dialect) => {
    await store.ping();
    const s = store.stats();
    assert.equal(s.dialect, dialect);
    assert.equal(s.inUse, 0);
    assert.ok(s.total >= 1);
    await store.close();
    await assert.rejects(store.query('SELECT 1'), (e) => hasCode(e, 'STORE_CLOSED'));
    await store.close(); // twice is fine
  }));
