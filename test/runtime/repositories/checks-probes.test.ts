// Check and probe history on both stores: the checker and the probe service write through these.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChecker } from '../../../src/capabilities/check/index.js';
import { createProbeService } from '../../../src/capabilities/probe/index.js';
import { checkHistory, getCheck, listChecks } from '../../../src/runtime/repositories/checks.js';
import { allMigrations } from '../../../src/runtime/repositories/index.js';
import { getProbe, listProbes, probeHistory } from '../../../src/runtime/repositories/probes.js';
import { closedPort, listen } from '../../capabilities/probe/helpers.js';
import { forEachStore } from '../../helpers/stores.js';

test('check reports are stored whole and listed newest first (SQLite and PostgreSQL)', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    const l = await listen('127.0.0.1');
    const closed = await closedPort('127.0.0.1');
    try {
      let clock = 1_700_000_000_000;
      const probes = createProbeService({ options: () => ({ cacheTtlMs: 0 }) });
      const checker = createChecker({ prober: probes, history: checkHistory(store), now: () => clock++ });
      const up = await checker.check({ text: `services:\n  a: { host: 127.0.0.1, ports: [${l.port}] }\n`, file: 'up.yaml' });
      const down = await checker.check({ text: `services:\n  b: { host: 127.0.0.1, ports: [${closed}], cpu: 1m }\n`, file: 'down.yaml' });
      assert.deepEqual(await getCheck(store, up.id), up);
      assert.deepEqual(await getCheck(store, down.id), down);
      assert.equal(await getCheck(store, 'nope'), undefined);
      const list = await listChecks(store, { limit: 10 });
      assert.deepEqual(list.map((c) => [c.file, c.ok, c.valid, c.up, c.down, c.errors]), [
        ['down.yaml', false, false, 0, 1, 1],
        ['up.yaml', true, true, 1, 0, 0],
      ]);
      assert.deepEqual((await listChecks(store, { since: up.startedAt + 1 })).map((c) => c.id), [down.id]);
      assert.equal((await listProbes(store)).length, 0, "a check's scans are not recorded as probes");
    } finally {
      await l.close();
    }
  }));

test('probe records keep open and filtered results, count closed ones (SQLite and PostgreSQL)', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    const l = await listen('127.0.0.1');
    try {
      const probes = createProbeService({ options: () => ({ cacheTtlMs: 0 }), history: probeHistory(store) });
      const r = await probes.scan({ targets: ['127.0.0.1'], ports: `${l.port},1-20` });
      const stored = await getProbe(store, r.id);
      assert.ok(stored);
      assert.deepEqual(stored.targets, ['127.0.0.1']);
      assert.equal(stored.truncated, false);
      assert.deepEqual(stored.results.map((x) => [x.port, x.state]), r.results.filter((x) => x.state !== 'closed').map((x) => [x.port, x.state]));
      assert.ok(stored.results.some((x) => x.port === l.port));
      assert.equal(stored.summary.closed, r.summary.closed);
      const list = await listProbes(store);
      assert.equal(list.length, 1);
      assert.equal(list[0]!.ports, 21);
      assert.equal(list[0]!.open, r.summary.open);
      await probes.scan({ targets: ['127.0.0.1'], ports: '1' }, { record: false });
      assert.equal((await listProbes(store)).length, 1, 'record: false is not stored');
    } finally {
      await l.close();
    }
  }));
