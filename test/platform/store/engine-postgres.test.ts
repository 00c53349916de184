// The engine picks PostgresStore when DATABASE_URL is set: migrations run there, the pool's metrics
// land in engine.metrics, the `store.copy` flag switches bulk inserts, and close() ends the pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { POOL_METRICS } from '../../../src/platform/store/pool.js';
import { PostgresStore } from '../../../src/platform/store/postgres.js';
import { DATABASE_URL } from '../../helpers/stores.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

test('DATABASE_URL selects PostgresStore with the store.* pool keys, pool KPIs and the store.copy flag', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const schema = `t_engine_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  t.after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const engine = await testEngine(w.dir, { env: { DATABASE_URL, CODE_STORE_SCHEMA: schema, CODE_STORE_POOL_MAX: '3', CODE_STORE_STATEMENT_TIMEOUT_MS: '200' } });
  try {
    assert.ok(engine.store instanceof PostgresStore);
    const store = engine.store as PostgresStore;
    assert.equal(store.stats().pool.max, 3);
    // The engine's migrations landed in our schema, not in public.
    const applied = await admin.query(`SELECT COUNT(*)::int AS n FROM ${schema}.schema_migrations`);
    assert.ok(applied.rows[0].n > 0);
    await assert.rejects(store.query('SELECT pg_sleep(2)'), (e: { code?: string }) => e.code === 'STORE_TIMEOUT');
    const text = engine.metrics.exposition();
    assert.match(text, new RegExp(`${POOL_METRICS.utilisation}\\{pool="main"\\} 0\\b`));
    assert.match(text, new RegExp(POOL_METRICS.opened));
    // Pool KPIs: utilisation at 100% for longer than 30 s fires the default 85% warning rule.
    const monitor = engine.observability.monitor;
    const held = await Promise.all([store.pool.acquire(), store.pool.acquire(), store.pool.acquire()]);
    const t0 = Date.now();
    const first = monitor.tick(t0);
    assert.deepEqual(first.kpis.find((k) => k.name === 'pool.utilization')?.value, 100);
    assert.equal(first.kpis.find((k) => k.name === 'pool.utilization')?.state, 'warning');
    const later = monitor.tick(t0 + 31_000);
    const alert = later.alerts.find((a) => a.kpi === 'pool.utilization');
    assert.equal(alert?.state, 'firing');
    assert.equal(alert?.severity, 'warning');
    assert.ok(later.kpis.some((k) => k.name === 'pool.wait_p95'));
    for (const c of held) store.pool.release(c);
    // The flag switches COPY off at run time.
    await store.run('CREATE TABLE bulk (v INTEGER)');
    assert.equal(engine.flags.enabled('store.copy'), true);
    assert.equal(store.useCopy(), true);
    await engine.flags.set('store.copy', false, 'test');
    assert.equal(store.useCopy(), false);
    assert.equal(await store.insertMany('bulk', ['v'], [[1], [2]]), 2);
  } finally {
    await engine.close();
  }
  assert.equal((engine.store as PostgresStore).stats().total, 0);
});
