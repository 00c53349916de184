import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { buildApp } from '../../../src/runtime/server/app.js';
import { startServer } from '../../../src/runtime/server/start.js';
import { spawnCodectl } from '../../helpers/cli.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

test('health, ready, request ids, OpenAPI and problem+json errors', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir, { overrides: { server: { bodyLimit: 2048 } } });
  const app = await buildApp({ engine, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await engine.close();
  });

  const health = await app.inject({ url: '/health', headers: { 'x-request-id': 'req-42' } });
  assert.equal(health.statusCode, 200);
  assert.equal(health.json().status, 'ok');
  assert.equal(health.headers['x-request-id'], 'req-42');
  const generated = await app.inject({ url: '/health' });
  assert.match(String(generated.headers['x-request-id']), /^[0-9a-f]{8}-\d+$/, 'a generated id: process prefix, decimal counter');
  assert.notEqual(generated.headers['x-request-id'], (await app.inject({ url: '/health' })).headers['x-request-id']);

  // fastify logs through the engine's logger: one logger (no child per request) that follows a level change
  assert.equal(app.log.child({ reqId: 'x' }), app.log);
  engine.log.level = 'debug';
  assert.equal(app.log.level, 'debug');
  engine.log.level = 'warn';
  assert.equal(app.log.level, 'warn');

  const ready = await app.inject({ url: '/ready' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json().checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]).find((c: unknown[]) => c[0] === 'store:sqlite'), ['store:sqlite', true]);

  const missing = await app.inject({ url: '/v1/nothing-here' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(missing.json().code, 'NOT_FOUND');
  assert.ok(missing.json().requestId);

  const invalid = await app.inject({ method: 'POST', url: '/v1/config/rollback', payload: { version: 'two' } });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().code, 'REQUEST_INVALID');
  assert.match(invalid.json().detail, /version/);

  const tooLarge = await app.inject({ method: 'POST', url: '/v1/config/rollback', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ version: 1, pad: 'x'.repeat(4096) }) });
  assert.equal(tooLarge.statusCode, 413);
  assert.equal(tooLarge.json().code, 'REQUEST_TOO_LARGE');

  const notJson = await app.inject({ method: 'POST', url: '/v1/config/rollback', headers: { 'content-type': 'application/json' }, payload: '{nope' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(notJson.json().code, 'REQUEST_INVALID');

  const unknownVersion = await app.inject({ method: 'POST', url: '/v1/config/rollback', payload: { version: 999 } });
  assert.equal(unknownVersion.statusCode, 404);
  assert.equal(unknownVersion.json().code, 'CONFIG_VERSION_NOT_FOUND');

  const openapi = (await app.inject({ url: '/openapi.json' })).json();
  assert.equal(openapi.openapi, '3.1.0');
  for (const path of ['/health', '/ready', '/v1/config', '/v1/config/rollback', '/v1/flags', '/v1/flags/{name}']) assert.ok(openapi.paths[path], `OpenAPI documents ${path}`);
});

test('binding a non-loopback address without a token is refused', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir);
  t.after(() => engine.close());
  for (const host of ['0.0.0.0', '::', '10.1.2.3', 'example.internal']) {
    await assert.rejects(buildApp({ engine, host }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SERVER_TOKEN_REQUIRED');
      assert.match(err.message, /requires CODE_API_TOKEN/);
      return true;
    });
  }
  for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost']) {
    const app = await buildApp({ engine, host });
    await app.close();
  }
});

test('with a token, every route but /health requires the bearer token', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir);
  engine.flags.register({ name: 'demo.flag', default: true, description: 'd', fallback: 'f' });
  const app = await buildApp({ engine, host: '0.0.0.0', token: 's3cret-token' });
  t.after(async () => {
    await app.close();
    await engine.close();
  });
  assert.equal((await app.inject({ url: '/health' })).statusCode, 200);
  const none = await app.inject({ url: '/v1/flags' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().code, 'AUTH_REQUIRED');
  const wrong = await app.inject({ url: '/v1/flags', headers: { authorization: 'Bearer s3cret-tokem' } });
  assert.equal(wrong.statusCode, 403);
  assert.equal(wrong.json().code, 'AUTH_INVALID');
  assert.equal((await app.inject({ url: '/ready' })).statusCode, 401);
  assert.equal((await app.inject({ url: '/nope' })).statusCode, 401, 'unknown routes do not leak existence');
  const ok = await app.inject({ method: 'PUT', url: '/v1/flags/demo.flag', headers: { authorization: 'Bearer s3cret-token' }, payload: { enabled: false } });
  assert.equal(ok.statusCode, 200);
  const [entry] = await engine.flags.audit({ name: 'demo.flag' });
  assert.match(entry!.actor, /^api:token:[0-9a-f]{8}$/);
  assert.doesNotMatch(entry!.actor, /s3cret/);
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

test('graceful stop: a request in flight finishes, new connections are refused', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir);
  t.after(() => engine.close());
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const server = await startServer(engine, {
    port: 0,
    plugins: [
      async (app) => {
        app.get('/test/slow', async () => {
          entered();
          await new Promise((r) => setTimeout(r, 400));
          return { done: true };
        });
      },
    ],
  });
  const inflight = get(`${server.url}/test/slow`);
  await inside;
  const stopped = server.stop();
  const answer = await inflight;
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { done: true });
  await stopped;
  await assert.rejects(get(`${server.url}/health`), /ECONNREFUSED/);
});

test('SIGTERM stops a real `codectl serve` cleanly (exit 0, store closed)', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const child = spawnCodectl(['serve', '--port', '0'], { cwd: w.dir });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
    child.stdout!.on('data', () => {
      const m = /CODE listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  assert.equal((await get(`${url}/health`)).status, 200);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /"msg":"stopped"/);
});

test('every route schema compiles (eagerly), and lazily compiled routes validate and serialise the same', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir);
  t.after(() => engine.close());
  // fastify's default: every validator and serializer built at ready(); a bad schema fails here.
  const eager = await buildApp({ engine, host: '127.0.0.1', eagerSchemas: true });
  await eager.ready();
  const lazy = await buildApp({ engine, host: '127.0.0.1' });
  await lazy.ready();
  t.after(async () => {
    await eager.close();
    await lazy.close();
  });
  for (const app of [eager, lazy]) {
    const bad = await app.inject({ method: 'POST', url: '/v1/config/rollback', payload: { version: 'two' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'REQUEST_INVALID');
    assert.match(bad.json().detail, /version/, 'the lazy validator hands its errors to fastify');
    // The response serializer drops keys the schema does not declare, lazily compiled or not.
    const health = await app.inject({ url: '/health' });
    assert.deepEqual(Object.keys(health.json()).sort(), ['status', 'uptimeS']);
  }
});
