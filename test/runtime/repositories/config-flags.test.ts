import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagRegistry } from '../../../src/runtime/config/flags.js';
import { defaultConfig } from '../../../src/runtime/config/loader.js';
import { ConfigManager } from '../../../src/runtime/config/versions.js';
import { appendConfigVersion, getConfigVersion, latestConfigVersion, listConfigVersions } from '../../../src/runtime/repositories/config-versions.js';
import { flagAudit, lastFlagAuditId, loadFlagState, saveFlagChange } from '../../../src/runtime/repositories/flags.js';
import { allMigrations } from '../../../src/runtime/repositories/index.js';
import { forEachStore } from '../../helpers/stores.js';

test('config versions repository: numbered, ordered, round-trips JSON (SQLite and PostgreSQL)', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    assert.equal(await latestConfigVersion(store), undefined);
    const config = { server: { port: 9000, host: '127.0.0.1' }, nested: { list: [1, 'two', null] } };
    const v1 = await appendConfigVersion(store, { createdAt: 1_700_000_000_000, source: 'file a.yaml', config, inputHash: 'h1', diff: [] });
    const v2 = await appendConfigVersion(store, { createdAt: 1_700_000_000_001, source: 'env CODE_SERVER_PORT', config: { ...config, server: { port: 9001, host: '127.0.0.1' } }, inputHash: 'h2', diff: [{ path: 'server.port', old: 9000, new: 9001 }] });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.deepEqual((await getConfigVersion(store, 1))?.config, config);
    assert.equal((await latestConfigVersion(store))?.version, 2);
    const list = await listConfigVersions(store, 10);
    assert.deepEqual(list.map((v) => [v.version, v.createdAt, v.source, v.inputHash]), [
      [2, 1_700_000_000_001, 'env CODE_SERVER_PORT', 'h2'],
      [1, 1_700_000_000_000, 'file a.yaml', 'h1'],
    ]);
    assert.deepEqual(list[0]!.diff, [{ path: 'server.port', old: 9000, new: 9001 }]);
    // Concurrent appends still get distinct consecutive numbers.
    const many = await Promise.all(Array.from({ length: 5 }, (_, i) => appendConfigVersion(store, { createdAt: i, source: `s${i}`, config, inputHash: 'h', diff: [] })));
    assert.deepEqual(many.map((v) => v.version).sort((a, b) => a - b), [3, 4, 5, 6, 7]);
  }));

test('config manager rollback on both stores', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    const base = defaultConfig();
    const a = new ConfigManager(store, { config: { ...base, log: { level: 'warn' } }, source: 'file a' });
    await a.init();
    const b = new ConfigManager(store, { config: { ...base, log: { level: 'error' }, server: { ...base.server, port: 9999 } }, source: 'file b' });
    await b.init();
    const result = await b.rollback(1);
    assert.deepEqual(result.applied, ['log.level']);
    assert.deepEqual(result.restartRequired, ['server.port']);
    assert.equal(b.current.log.level, 'warn');
  }));

test('flag state and audit repository on both stores', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    assert.equal(await lastFlagAuditId(store), 0);
    await saveFlagChange(store, { at: 10, name: 'a.flag', old: true, new: false, actor: 'cli' });
    await saveFlagChange(store, { at: 11, name: 'b.flag', old: false, new: true, actor: 'api:loopback' });
    await saveFlagChange(store, { at: 12, name: 'a.flag', old: false, new: true, actor: 'api:token:0011aabb' });
    assert.deepEqual([...(await loadFlagState(store))].sort(), [['a.flag', true], ['b.flag', true]]);
    const all = await flagAudit(store);
    assert.deepEqual(all.map((e) => [e.at, e.name, e.old, e.new, e.actor]), [
      [12, 'a.flag', false, true, 'api:token:0011aabb'],
      [11, 'b.flag', false, true, 'api:loopback'],
      [10, 'a.flag', true, false, 'cli'],
    ]);
    assert.deepEqual((await flagAudit(store, { name: 'b.flag' })).map((e) => e.at), [11]);
    assert.deepEqual((await flagAudit(store, { limit: 1 })).map((e) => e.at), [12]);
    assert.equal(await lastFlagAuditId(store), all[0]!.id);

    const flags = new FlagRegistry(store);
    await flags.load();
    const flag = flags.register({ name: 'a.flag', default: false, description: 'd', fallback: 'f' });
    assert.equal(flag.enabled, true, 'the stored value wins over the default');
  }));
