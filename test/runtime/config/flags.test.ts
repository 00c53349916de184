import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

const def = { name: 'demo.fast-path', default: true, description: 'a fast path', fallback: 'the slow path' };

test('flags survive a restart and every change is audited', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  let engine = await testEngine(w.dir);
  const flag = engine.flags.register(def);
  assert.equal(flag.enabled, true);
  const changes: boolean[] = [];
  engine.flags.onChange('demo.fast-path', (v) => changes.push(v));
  assert.deepEqual(await engine.flags.set('demo.fast-path', false, 'cli'), { name: 'demo.fast-path', old: true, new: false });
  assert.equal(flag.enabled, false, 'applies without a restart');
  assert.equal(engine.flags.reader('demo.fast-path')(), false);
  assert.deepEqual(changes, [false]);
  await engine.close();

  engine = await testEngine(w.dir);
  t.after(() => engine.close());
  const again = engine.flags.register(def);
  assert.equal(again.enabled, false, 'the value persisted across the restart');
  const view = engine.flags.list().find((f) => f.name === def.name)!;
  assert.equal(view.overridden, true);
  await engine.flags.set('demo.fast-path', true, 'api:token:1a2b3c4d');
  const audit = await engine.flags.audit();
  assert.deepEqual(audit.map((a) => [a.name, a.old, a.new, a.actor]), [
    ['demo.fast-path', false, true, 'api:token:1a2b3c4d'],
    ['demo.fast-path', true, false, 'cli'],
  ]);
  assert.ok(audit.every((a) => a.at > 0));
  await assert.rejects(engine.flags.set('no.such.flag', true, 'cli'), { code: 'FLAG_UNKNOWN' });
});

test('a flag changed by another process applies after sync()', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const a = await testEngine(w.dir);
  const b = await testEngine(w.dir);
  t.after(() => Promise.all([a.close(), b.close()]));
  const fa = a.flags.register(def);
  b.flags.register(def);
  assert.equal(await a.flags.sync(), false);
  await b.flags.set(def.name, false, 'cli');
  assert.equal(fa.enabled, true);
  assert.equal(await a.flags.sync(), true);
  assert.equal(fa.enabled, false);
});
