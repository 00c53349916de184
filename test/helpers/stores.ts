/**
 * Runs a test body against every Store adapter: a fresh SqliteStore in a temp file and a fresh
 * PostgresStore in a unique schema (search_path) of the real server, dropped afterwards. This is how
 * the repository contract suite runs unchanged on both adapters.
 *
 *   import { forEachStore } from '../../helpers/stores.js';
 *   test('alerts round-trip', (t) => forEachStore(t, async (store) => {
 *     await store.migrate(migrations);
 *     ...
 *   }));
 *
 * or, for a describe block sharing one store per adapter:
 *
 *   for (const factory of storeFactories) {
 *     describe(`alerts on ${factory.dialect}`, () => {
 *       let h: OpenedStore;
 *       before(async () => { h = await factory.open(); await h.store.migrate(migrations); });
 *       after(() => h.dispose());
 *       it('...', async () => { await h.store.query(...) });
 *     });
 *   }
 *
 * PostgreSQL comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/platform/store/postgres.js';
import type { PostgresStoreOptions } from '../../src/platform/store/postgres.js';
import { SqliteStore } from '../../src/platform/store/sqlite.js';
import type { Dialect, Store } from '../../src/platform/store/types.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface OpenedStore<S extends Store = Store> {
  store: S;
  /** Where it lives: the SQLite file path or the PostgreSQL schema name. */
  location: string;
  /** Closes the store and deletes its file / drops its schema. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface StoreFactory {
  dialect: Dialect;
  open(): Promise<OpenedStore>;
}

let seq = 0;
/** A schema name unique to this process and call, stamped with the hour so stale ones can be swept. */
function uniqueSchema(): string {
  const hour = Math.floor(Date.now() / 3_600_000);
  return `t_${hour}_${process.pid}_${++seq}_${Math.random().toString(36).slice(2, 8)}`;
}

let swept = false;
/** Drops schemas left by test processes killed more than 6 hours ago (same naming), once per process. */
async function sweepStale(admin: pg.Client): Promise<void> {
  if (swept) return;
  swept = true;
  const hour = Math.floor(Date.now() / 3_600_000);
  const { rows } = await admin.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9]+_[0-9]+_[0-9]+_[a-z0-9]+$'");
  for (const { nspname } of rows) {
    const h = Number(nspname.split('_')[1]);
    if (hour - h > 6) await admin.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`).catch(() => undefined);
  }
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** A fresh SqliteStore in its own temp folder. */
export async function openSqlite(): Promise<OpenedStore<SqliteStore>> {
  const dir = mkdtempSync(join(tmpdir(), 'code-store-'));
  const path = join(dir, 'store.db');
  const store = new SqliteStore({ path });
  let disposed = false;
  return {
    store,
    location: path,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh PostgresStore in a new schema of DATABASE_URL's database; options override the small test pool. */
export async function openPostgres(opts: Partial<PostgresStoreOptions> = {}): Promise<OpenedStore<PostgresStore>> {
  const url = opts.url ?? DATABASE_URL;
  const schema = uniqueSchema();
  await withAdmin(url, async (admin) => {
    await sweepStale(admin);
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  const store = new PostgresStore({ poolMax: 4, acquireTimeoutMs: 10_000, ...opts, url, schema });
  let disposed = false;
  return {
    store,
    location: schema,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await store.close();
      await withAdmin(url, (admin) => admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

export const storeFactories: readonly StoreFactory[] = [
  { dialect: 'sqlite', open: openSqlite },
  { dialect: 'postgres', open: () => openPostgres() },
];

/**
 * Runs `body` as one subtest per adapter (`sqlite`, `postgres`), each with a fresh, empty store that
 * is disposed afterwards even when the body fails.
 */
export async function forEachStore(t: TestContext, body: (store: Store, dialect: Dialect) => Promise<void>): Promise<void> {
  for (const factory of storeFactories) {
    await t.test(factory.dialect, async () => {
      const opened = await factory.open();
      try {
        await body(opened.store, factory.dialect);
      } finally {
        await opened.dispose();
      }
    });
  }
}
