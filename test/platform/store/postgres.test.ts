// PostgreSQL-only behaviour of insertMany: COPY and multi-row INSERT write the same rows, the method
// switches at run time, and a chunk bigger than one statement's 65,535 parameters stays atomic.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import type { PostgresStore, PostgresStoreOptions } from '../../../src/platform/store/postgres.js';
import type { SqlValue } from '../../../src/platform/store/types.js';
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

const awkward: SqlValue[][] = [
  ['plain', 1, 1.5, new Uint8Array([1, 2, 3]), 1_700_000_000_000],
  ['tab\tnewline\ncr\rbackslash\\ \\N', -2, -0.25, new Uint8Array([]), 0],
  ['ünïcødé ✓ 𝄞', 0, null, null, null],
  ['', 2 ** 31 - 1, 1e300, new Uint8Array([0, 255]), 2 ** 53 - 1],
];

test('COPY and multi-row INSERT store identical rows; the method is read per call', async () => {
  let copy = true;
  const store = await fresh({ useCopy: () => copy });
  await store.migrate([{ id: 'pg/001', up: 'CREATE TABLE v (k TEXT, i INTEGER, r DOUBLE PRECISION, b BYTEA, t BIGINT, via TEXT)' }]);
  const cols = ['k', 'i', 'r', 'b', 't', 'via'];
  assert.equal(await store.insertMany('v', cols, awkward.map((r) => [...r, 'copy'])), 4);
  copy = false;
  assert.equal(await store.insertMany('v', cols, awkward.map((r) => [...r, 'insert'])), 4);
  type V = { k: string; i: number; r: number | null; b: Buffer | null; t: number | null };
  const read = async (via: string) => (await store.query<V>('SELECT k, i, r, b, t FROM v WHERE via = ? ORDER BY i, k', [via])).map((r) => ({ ...r, b: r.b === null ? null : [...r.b] }));
  const viaCopy = await read('copy');
  assert.deepEqual(viaCopy, await read('insert'));
  assert.deepEqual(viaCopy.find((r) => r.i === -2), { k: 'tab\tnewline\ncr\rbackslash\\ \\N', i: -2, r: -0.25, b: [], t: 0 });
  assert.deepEqual(viaCopy.find((r) => r.i === 2 ** 31 - 1), { k: '', i: 2 ** 31 - 1, r: 1e300, b: [0, 255], t: 2 ** 53 - 1 });
});

test('a chunk larger than one INSERT statement can hold is split into statements of one transaction', async () => {
  const store = await fresh({ useCopy: false });
  const width = 40; // 65,535 / 40 = 1,638 rows per statement
  const cols = Array.from({ length: width }, (_, i) => `c${i}`);
  await store.migrate([{ id: 'pg/002', up: `CREATE TABLE wide (${cols.map((c) => `${c} INTEGER`).join(', ')}, UNIQUE (c0))` }]);
  const rows = Array.from({ length: 4_000 }, (_, r) => cols.map((_, c) => r * 100 + c));
  assert.equal(await store.insertMany('wide', cols, rows, { chunkSize: 4_000 }), 4_000);
  // The same again with a duplicate in the last statement: the whole chunk rolls back.
  const more = Array.from({ length: 4_000 }, (_, r) => cols.map((_, c) => 1_000_000 + r * 100 + c));
  more[3_999]![0] = 0;
  await assert.rejects(store.insertMany('wide', cols, more, { chunkSize: 4_000 }), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.constraint === 'unique');
  assert.deepEqual(await store.query('SELECT COUNT(*) AS n FROM wide'), [{ n: 4_000 }]);
});

test('a transaction executor refuses use after its transaction ended', async () => {
  const store = await fresh();
  let leaked: { run(sql: string): Promise<unknown> } | undefined;
  await store.transaction(async (tx) => {
    leaked = tx;
  });
  await assert.rejects(leaked!.run('SELECT 1'), (e) => hasCode(e, 'STORE_QUERY_FAILED') && /after its transaction ended/.test(e.message));
});

test('bad URLs and schema names are refused with a clear error', async () => {
  const { PostgresStore } = await import('../../../src/platform/store/postgres.js');
  assert.throws(() => new PostgresStore({ url: 'mysql://x' }), (e) => hasCode(e, 'STORE_UNAVAILABLE') && /postgres:\/\//.test(e.message));
  assert.throws(() => new PostgresStore({ url: 'postgres://127.0.0.1/test', schema: 'x; DROP' }), (e) => hasCode(e, 'STORE_QUERY_FAILED') && /schema/.test(e.message));
  assert.throws(() => new PostgresStore({ url: 'postgres://127.0.0.1/test', poolMax: 0 }), (e) => hasCode(e, 'STORE_UNAVAILABLE') && /max/.test(e.message));
});

test('engines migrating the same schema at once apply each migration exactly once', async () => {
  const first = await openPostgres();
  opened.push(first as OpenedStore<PostgresStore>);
  const { PostgresStore: Ctor } = await import('../../../src/platform/store/postgres.js');
  const others = Array.from({ length: 3 }, () => new Ctor({ url: DATABASE_URL, schema: first.location, poolMax: 2 }));
  try {
    const migrations = Array.from({ length: 5 }, (_, i) => ({ id: `race/00${i}`, up: `CREATE TABLE race_${i} (v INTEGER)` }));
    const results = await Promise.all([first.store, ...others].map((s) => s.migrate(migrations)));
    assert.deepEqual(results.flat().sort(), migrations.map((m) => m.id));
    assert.deepEqual(await first.store.query('SELECT COUNT(*) AS n FROM schema_migrations'), [{ n: 5 }]);
  } finally {
    await Promise.all(others.map((s) => s.close()));
  }
});
