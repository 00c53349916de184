import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCliInProcess, runCodectl } from '../../helpers/cli.js';
import { tempWorkdir } from '../../helpers/engine.js';
/** Runs codectl in-process in `cwd` with captured output. */
/** Runs codectl in-process in `cwd` with captured output. */
const cli = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCliInProcess(cwd, args, { env });

test('a bad option exits 2 with one clear line and no stack (real binary)', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const r = await runCodectl(['--bogus'], { cwd: w.dir });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^codectl: unknown option '--bogus'/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('usage errors exit 2: unknown command, bad argument, bad port', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const unknown = await cli(w.dir, ['flgs', 'list']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'flgs'/);
  assert.match(unknown.err, /Did you mean flags\?/);
  const arg = await cli(w.dir, ['config', 'diff', '1', 'x']);
  assert.equal(arg.code, 2);
  assert.match(arg.err, /must be an integer/);
  const port = await cli(w.dir, ['serve', '--port', '70000']);
  assert.equal(port.code, 2);
  assert.match(port.err, /must be an integer from 0 to 65535/);
});

test('a bad config file exits 2 naming the file, line and key', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'server:\n  port: -1\n');
  const r = await cli(w.dir, ['config', 'show']);
  assert.equal(r.code, 2);
  assert.match(r.err, /codectl\.yaml:2: server\.port: must be >= 0/);
  assert.match(r.err, /\[CONFIG_INVALID\]/);
  const missing = await cli(w.dir, ['--config', 'nope.yaml', 'config', 'show']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /config file not found: nope\.yaml/);
});

test('--json puts machine output on stdout; config history, rollback and flags work end to end', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'log:\n  level: warn\n');
  const show = await cli(w.dir, ['config', 'show', '--json']);
  assert.equal(show.code, 0, show.err);
  assert.equal(JSON.parse(show.out).config.log.level, 'warn');
  w.write('codectl.yaml', 'log:\n  level: error\n');
  const history = await cli(w.dir, ['config', 'history', '--json']);
  assert.deepEqual(JSON.parse(history.out).versions.map((v: { version: number }) => v.version), [2, 1]);
  const rollback = await cli(w.dir, ['config', 'rollback', '1', '--json']);
  assert.equal(rollback.code, 0, rollback.err);
  assert.deepEqual(JSON.parse(rollback.out).changes.map((c: { path: string }) => c.path), ['log.level']);
  const text = await cli(w.dir, ['config', 'history']);
  assert.match(text.out, /^version\s+time\s+source/);
  assert.match(text.out, /rollback to 1/);
  const flag = await cli(w.dir, ['flags', 'enable', 'no.such.flag']);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /unknown feature flag "no\.such\.flag"/);
  const list = await cli(w.dir, ['flags', 'list', '--json']);
  assert.equal(list.code, 0);
  assert.ok(Array.isArray(JSON.parse(list.out).flags));
});
