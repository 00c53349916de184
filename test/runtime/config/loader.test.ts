import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCodeError } from '../../../src/platform/errors.js';
import { loadConfig } from '../../../src/runtime/config/loader.js';
import { tempWorkdir } from '../../helpers/engine.js';

function configError(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> | undefined } {
  try {
    fn();
  } catch (err) {
    assert.ok(isCodeError(err), `expected a CodeError, got ${String(err)}`);
    return { code: err.code, message: err.message, details: err.details };
  }
  assert.fail('expected an error');
}

test('defaults apply with no file and no environment', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const { config, source } = loadConfig({ cwd: w.dir, env: {} });
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.server.port, 8080);
  assert.equal(config.data.dir, './data');
  assert.equal(source, 'defaults');
});

test('a bad type is reported with file, line, key and reason', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'server:\n  host: 127.0.0.1\n  port: "eighty"\nlog:\n  level: loud\n');
  const err = configError(() => loadConfig({ cwd: w.dir, env: {} }));
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.match(err.message, /codectl\.yaml:3: server\.port: must be integer/);
  assert.match(err.message, /codectl\.yaml:5: log\.level: must be one of "fatal"/);
  assert.match(err.message, /2 problems/);
});

test('an unknown key is rejected with a "did you mean"', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'server:\n  prot: 9000\nsever:\n  port: 1\n');
  const err = configError(() => loadConfig({ cwd: w.dir, env: {} }));
  assert.match(err.message, /codectl\.yaml:2: server\.prot: unknown key \(did you mean "port"\?\)/);
  assert.match(err.message, /codectl\.yaml:3: sever: unknown key \(did you mean "server"\?\)/);
});

test('environment variables override the file, with types coerced', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  w.write('codectl.yaml', 'server:\n  port: 9000\n  host: 127.0.0.1\n');
  const { config, source } = loadConfig({ cwd: w.dir, env: { CODE_SERVER_PORT: '9100', CODE_LOG_LEVEL: 'debug', DATABASE_URL: 'postgres://x@127.0.0.1/db' } });
  assert.equal(config.server.port, 9100);
  assert.equal(config.log.level, 'debug');
  assert.equal(config.store.url, 'postgres://x@127.0.0.1/db');
  assert.match(source, /file codectl\.yaml \+ env DATABASE_URL \+ env CODE_SERVER_PORT/);
});

test('a bad environment value names the variable; an unknown one gets a suggestion', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const err = configError(() => loadConfig({ cwd: w.dir, env: { CODE_SERVER_PORT: 'abc', CODE_SERVER_PROT: '1', CODE_API_TOKEN: 'not-a-key' } }));
  assert.match(err.message, /env CODE_SERVER_PORT: server\.port: must be a number, got "abc"/);
  assert.match(err.message, /CODE_SERVER_PROT: unknown environment variable \(did you mean CODE_SERVER_PORT\?\)/);
  assert.doesNotMatch(err.message, /CODE_API_TOKEN/);
});

test('JSON and TOML files are read too', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const json = w.write('c.json', '{ "server": { "port": 9001 } }');
  assert.equal(loadConfig({ cwd: w.dir, env: {}, path: json }).config.server.port, 9001);
  const toml = w.write('c.toml', '[server]\nport = 9002\n');
  assert.equal(loadConfig({ cwd: w.dir, env: {}, path: toml }).config.server.port, 9002);
});

test('unreadable files fail with a clear code: missing, syntax error, too large, alias bomb', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  assert.equal(configError(() => loadConfig({ cwd: w.dir, env: {}, path: 'nope.yaml' })).code, 'CONFIG_NOT_FOUND');
  assert.equal(configError(() => loadConfig({ cwd: w.dir, env: { CODE_CONFIG: 'nope.yaml' } })).code, 'CONFIG_NOT_FOUND');
  const bad = w.write('bad.yaml', 'server:\n  port: [1, 2\n');
  const syntax = configError(() => loadConfig({ cwd: w.dir, env: {}, path: bad }));
  assert.equal(syntax.code, 'CONFIG_UNREADABLE');
  assert.match(syntax.message, /bad\.yaml:\d+:\d+:/);
  const big = w.write('big.yaml', `# ${'x'.repeat(1024 * 1024 + 10)}\n`);
  assert.match(configError(() => loadConfig({ cwd: w.dir, env: {}, path: big })).message, /over the 1048576-byte limit/);
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
  const bomb = w.write('bomb.yaml', `${lines.join('\n')}\n`);
  const started = Date.now();
  assert.equal(configError(() => loadConfig({ cwd: w.dir, env: {}, path: bomb })).code, 'CONFIG_UNREADABLE');
  assert.ok(Date.now() - started < 5000, 'the alias bomb must fail fast');
});

test('a top level that is not a mapping is refused', (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const list = w.write('list.yaml', '- a\n- b\n');
  assert.match(configError(() => loadConfig({ cwd: w.dir, env: {}, path: list })).message, /top level must be a mapping/);
});
