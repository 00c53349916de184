// Every repository's migrations (src/runtime/repositories/index.ts) come from one source and apply
// on both adapters, twice without effect the second time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allMigrations } from '../../../src/runtime/repositories/index.js';
import { forEachStore } from '../../helpers/stores.js';

test('all repository migrations apply on SQLite and PostgreSQL', (t) =>
  forEachStore(t, async (store) => {
    const ids = allMigrations.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'migration ids are unique');
    assert.deepEqual(await store.migrate(allMigrations), ids);
    assert.deepEqual(await store.migrate(allMigrations), []);
    const rows = await store.query<{ id: string }>('SELECT id FROM schema_migrations');
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort());
  }));
