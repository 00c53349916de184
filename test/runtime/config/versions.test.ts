import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

test('rollback round trip: live keys apply now, others wait for a restart, and it survives restarts', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'server:\n  port: 9001\nlog:\n  level: info\n');
  let engine = await testEngine(w.dir);
  assert.equal((await engine.config.history()).length, 1);
  await engine.close();

  w.write('codectl.yaml', 'server:\n  port: 9002\nlog:\n  level: debug\n');
  engine = await testEngine(w.dir);
  const history = await engine.config.history();
  assert.deepEqual(history.map((v) => v.version), [2, 1]);
  assert.deepEqual(history[0]!.diff.map((c) => [c.path, c.old, c.new]), [['server.port', 9001, 9002], ['log.level', 'info', 'debug']]);
  assert.match(history[0]!.source, /file codectl\.yaml/);
  assert.deepEqual(await engine.config.diff(1, 2), history[0]!.diff);

  const seen: string[] = [];
  engine.config.onChange((changes) => seen.push(...changes.map((c) => c.path)));
  const result = await engine.config.rollback(1);
  assert.equal(result.version.version, 3);
  assert.equal(result.version.source, 'rollback to 1');
  assert.deepEqual(result.applied, ['log.level']);
  assert.deepEqual(result.restartRequired, ['server.port']);
  assert.deepEqual(seen, ['log.level']);
  assert.equal(engine.settings.log.level, 'info', 'a live key applies at once');
  assert.equal(engine.log.level, 'info', 'and reaches the logger');
  assert.equal(engine.settings.server.port, 9002, 'a restart key waits for the restart');
  assert.deepEqual([...engine.config.pendingRestart], ['server.port']);
  await engine.close();

  // Same file as before the rollback: the rollback stays in force.
  engine = await testEngine(w.dir);
  assert.equal(engine.settings.server.port, 9001);
  assert.equal(engine.settings.log.level, 'info');
  assert.equal((await engine.config.history()).length, 3);
  await engine.close();

  // The file changes: what it says wins, as a new version.
  w.write('codectl.yaml', 'server:\n  port: 9003\n');
  engine = await testEngine(w.dir);
  assert.equal(engine.settings.server.port, 9003);
  const latest = (await engine.config.history(1))[0]!;
  assert.equal(latest.version, 4);
  assert.deepEqual(latest.diff.map((c) => c.path), ['server.port']);
  await assert.rejects(engine.config.rollback(99), { code: 'CONFIG_VERSION_NOT_FOUND' });
  await engine.close();
});

test('a rollback made by another process reaches a running engine through sync()', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'log:\n  level: warn\n');
  const first = await testEngine(w.dir);
  await first.close();
  w.write('codectl.yaml', 'log:\n  level: error\n');
  const server = await testEngine(w.dir);
  const cli = await testEngine(w.dir);
  t.after(() => Promise.all([server.close(), cli.close()]));
  await cli.config.rollback(1);
  assert.equal(server.settings.log.level, 'error');
  const picked = await server.config.sync();
  assert.deepEqual(picked?.applied, ['log.level']);
  assert.equal(server.settings.log.level, 'warn');
  assert.equal(await server.config.sync(), undefined, 'nothing new: nothing applied');
});
