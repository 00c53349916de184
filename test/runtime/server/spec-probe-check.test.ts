// The specs, probes and checks API on a real engine (SQLite store in a temp dir), probing real
// listeners on loopback — the app's own port among them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../src/runtime/engine.js';
import { appendConfigVersion, latestConfigVersion } from '../../../src/runtime/repositories/config-versions.js';
import { buildApp } from '../../../src/runtime/server/app.js';
import { closedPort, listen, type Listener } from '../../capabilities/probe/helpers.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

const w = tempWorkdir('code-checks-api-');
let engine: Engine;
let app: FastifyInstance;
let appPort: number;
let tcp: Listener;
const example = readFileSync(new URL('../../../examples/deploy.yaml', import.meta.url), 'utf8');
const tenErrors = readFileSync(new URL('../../fixtures/specs/ten-errors.yaml', import.meta.url), 'utf8');

before(async () => {
  engine = await testEngine(w.dir);
  app = await buildApp({ engine, host: '127.0.0.1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  appPort = (app.server.address() as AddressInfo).port;
  tcp = await listen('127.0.0.1');
});
after(async () => {
  await tcp.close();
  await app.close();
  await engine.close();
  w.cleanup();
});

describe('specs API', () => {
  it('POST /v1/specs/validate: every finding with its line, in one pass', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/specs/validate', payload: { spec: tenErrors, file: 'ten-errors.yaml' } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.valid, false);
    assert.equal(r.format, 'yaml');
    assert.equal(r.findings.length, 12);
    assert.deepEqual(Object.keys(r.findings[0]).sort(), ['column', 'file', 'line', 'message', 'path', 'rule', 'severity']);
    assert.equal(r.findings[0].file, 'ten-errors.yaml');
  });

  it('the example spec is valid; bad input is a 400 problem', async () => {
    const ok = await app.inject({ method: 'POST', url: '/v1/specs/validate', payload: { spec: example, file: 'deploy.yaml' } });
    assert.equal(ok.json().valid, true);
    assert.equal(ok.json().spec.services[0].name, 'api');
    const bad = await app.inject({ method: 'POST', url: '/v1/specs/validate', payload: { spec: 'x', format: 'xml' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.headers['content-type'] as string, /problem\+json/);
    const rules = await app.inject({ method: 'GET', url: '/v1/specs/rules' });
    assert.ok(rules.json().rules.some((r: { rule: string }) => r.rule === 'ports.conflict'));
  });
});

describe('probes API', () => {
  it('POST /v1/probes scans, and the history keeps it', async () => {
    const closed = await closedPort('127.0.0.1');
    const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: ['127.0.0.1'], ports: [tcp.port, closed, appPort] } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    const state = (p: number) => r.results.find((x: { port: number }) => x.port === p).state;
    assert.deepEqual([state(tcp.port), state(closed), state(appPort)], ['open', 'closed', 'open']);
    assert.deepEqual(Object.keys(r.results[0]).sort(), ['address', 'host', 'latencyMs', 'port', 'service', 'state']);
    assert.equal(r.summary.open, 2);

    const list = await app.inject({ method: 'GET', url: '/v1/probes?limit=5' });
    assert.ok(list.json().probes.some((p: { id: string }) => p.id === r.id));
    const one = await app.inject({ method: 'GET', url: `/v1/probes/${r.id}` });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json().results.map((x: { port: number }) => x.port).sort(), [tcp.port, appPort].sort());
    const missing = await app.inject({ method: 'GET', url: '/v1/probes/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'PROBE_NOT_FOUND');
  });

  it('a target outside the allowlist is a 403 PROBE_TARGET_DENIED, and nothing is recorded', async () => {
    const before = (await app.inject({ method: 'GET', url: '/v1/probes' })).json().probes.length;
    const attempts = engine.probes.stats().attempts;
    for (const target of ['10.0.0.1', '192.168.0.0/30', '::ffff:10.1.1.1']) {
      const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: [target], ports: '80' } });
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, 'PROBE_TARGET_DENIED');
    }
    assert.equal(engine.probes.stats().attempts, attempts, 'no connect attempt');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/probes' })).json().probes.length, before);
  });

  it('bad ports and limits are 400s', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: ['127.0.0.1'], ports: '70000' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'PROBE_PORTS_INVALID');
    const cidr = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: ['127.0.0.0/8'], ports: '80' } });
    assert.equal(cidr.json().code, 'PROBE_LIMIT_EXCEEDED');
  });
});

describe('checks API', () => {
  it('POST /v1/checks: the example spec against this very server is up; stored; logs stay inside logs.roots', async () => {
    const spec = example.replaceAll('8080', String(appPort));
    const res = await app.inject({ method: 'POST', url: '/v1/checks', payload: { spec, file: 'deploy.yaml' } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.ok, true);
    const api = r.services[0];
    assert.equal(api.status, 'up');
    assert.equal(api.health.status, 200);
    // No logs.roots configured: the API may not read the example's log file.
    assert.match(api.logs.error, /roots|denied|outside/i);

    const got = await app.inject({ method: 'GET', url: `/v1/checks/${r.id}` });
    assert.deepEqual(got.json(), r);
    const list = await app.inject({ method: 'GET', url: '/v1/checks' });
    assert.equal(list.json().checks[0].id, r.id);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/checks/none' })).json().code, 'CHECK_NOT_FOUND');
  });

  it('a down service and error findings make ok false; a denied host is unknown with an error finding', async () => {
    const closed = await closedPort('127.0.0.1');
    const spec = `services:\n  gone:\n    host: 127.0.0.1\n    ports: [${closed}]\n  far:\n    host: 10.20.30.40\n    ports: [80]\n`;
    const r = (await app.inject({ method: 'POST', url: '/v1/checks', payload: { spec } })).json();
    assert.equal(r.ok, false);
    assert.deepEqual(r.services.map((s: { name: string; status: string }) => [s.name, s.status]), [['gone', 'down'], ['far', 'unknown']]);
    assert.deepEqual(r.findings.map((f: { rule: string; line: number }) => [f.rule, f.line]), [['probe.denied', 6]]);
  });

  it('the allowlist is live configuration (a new config version applies at the next scan)', async () => {
    const setAllowlist = async (allowlist: string[]) => {
      const latest = (await latestConfigVersion(engine.store))!;
      const config = structuredClone(latest.config) as { probe: { allowlist: string[] } };
      config.probe.allowlist = allowlist;
      await appendConfigVersion(engine.store, { createdAt: Date.now(), source: 'test', config, inputHash: 'test', diff: [{ path: 'probe.allowlist', old: latest.config, new: allowlist }] });
      const applied = await engine.config.sync();
      assert.ok(applied?.applied.includes('probe.allowlist'), JSON.stringify(applied));
    };
    await setAllowlist(['::1/128']);
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: ['127.0.0.1'], ports: [tcp.port] } });
      assert.equal(res.json().code, 'PROBE_TARGET_DENIED');
    } finally {
      await setAllowlist(['127.0.0.0/8', '::1/128']);
    }
    const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: { targets: ['127.0.0.1'], ports: [tcp.port] } });
    assert.equal(res.json().results[0].state, 'open');
  });
});
