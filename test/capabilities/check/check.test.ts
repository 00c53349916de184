// The check flow end to end: real listeners and HTTP servers on loopback, the real prober, the real
// log analyzer on a real file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { createChecker, type CheckReport } from '../../../src/capabilities/check/index.js';
import { analyzeLogs } from '../../../src/capabilities/logs/index.js';
import { Prober, type HttpGet } from '../../../src/capabilities/probe/index.js';
import { closedPort, listen, type Listener } from '../probe/helpers.js';

const httpGet: HttpGet = async (url, { signal }) => {
  const res = await request(url, { signal });
  await res.body.dump();
  return { status: res.statusCode };
};

async function httpServer(status: number, delayMs = 0): Promise<{ port: number; server: Server }> {
  const server = createServer((_req, res) => {
    setTimeout(() => {
      res.statusCode = status;
      res.end('ok');
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, server };
}

const dir = mkdtempSync(join(tmpdir(), 'code-check-'));
const logFile = join(dir, 'app.log');
let healthy: { port: number; server: Server };
let sick: { port: number; server: Server };
let slow: { port: number; server: Server };
let tcp: Listener;
let tcp2: Listener;
let v6: Listener;
let closedA: number;
let closedB: number;

before(async () => {
  healthy = await httpServer(200);
  sick = await httpServer(503);
  slow = await httpServer(200, 300);
  tcp = await listen('127.0.0.1');
  tcp2 = await listen('127.0.0.1');
  v6 = await listen('::1');
  closedA = await closedPort('127.0.0.1');
  closedB = await closedPort('127.0.0.1');
  writeFileSync(logFile, [
    '2026-01-05T10:00:00Z INFO started',
    '2026-01-05T10:00:01Z ERROR connection refused to db 10.0.0.7',
    '2026-01-05T10:00:02Z ERROR connection refused to db 10.0.0.8',
    '2026-01-05T10:00:03Z WARN slow query 1200 ms',
    '',
  ].join('\n'));
});

after(async () => {
  await Promise.all([tcp.close(), tcp2.close(), v6.close(), ...[healthy, sick, slow].map((h) => new Promise((r) => h.server.close(r)))]);
  rmSync(dir, { recursive: true, force: true });
});

function service(report: CheckReport, name: string) {
  const s = report.services.find((x) => x.name === name);
  assert.ok(s, `service ${name} in the report`);
  return s;
}

test('each service up, down, degraded or unknown, with latency, findings and logs', async () => {
  const text = `# a mixed deployment
global:
  host: 127.0.0.1
  timeoutMs: 1000
services:
  web:
    ports: [${healthy.port}, ${tcp.port}]
    health: { http: /health, port: ${healthy.port} }
    logs: [${JSON.stringify(logFile)}]
  partial:
    ports: [${tcp2.port}, ${closedA}]
  gone:
    ports: [${closedB}]
    health: { tcp: ${closedB} }
  sick:
    ports: [${sick.port}]
    health: { http: /health, port: ${sick.port} }
  six:
    host: ::1
    ports: [${v6.port}]
  remote:
    host: 10.0.0.1
    ports: [80]
  quiet: {}
`;
  const saved: CheckReport[] = [];
  const checker = createChecker({ prober: new Prober({ httpGet, cacheTtlMs: 0 }), analyzeLogs: (paths, o) => analyzeLogs(paths, o), history: { save: async (r) => { saved.push(r); } } });
  const r = await checker.check({ text, file: 'mixed.yaml' });

  assert.equal(service(r, 'web').status, 'up');
  assert.equal(service(r, 'web').health!.status, 200);
  assert.ok(service(r, 'web').latencyMs! >= 0);
  assert.deepEqual(service(r, 'web').logs, {
    lines: 4,
    errors: 2,
    warnings: 1,
    topProblems: (service(r, 'web').logs as { topProblems: unknown[] }).topProblems,
  });
  assert.equal((service(r, 'web').logs as { topProblems: Array<{ count: number }> }).topProblems[0]!.count, 2, 'the two refused connections are one normalised message');

  assert.equal(service(r, 'partial').status, 'degraded');
  assert.match(service(r, 'partial').reason, /1\/2 ports open/);
  assert.deepEqual(service(r, 'partial').ports.map((p) => p.state), ['open', 'closed']);

  assert.equal(service(r, 'gone').status, 'down');
  assert.equal(service(r, 'gone').health!.ok, false);

  assert.equal(service(r, 'sick').status, 'degraded');
  assert.equal(service(r, 'sick').health!.status, 503);

  assert.equal(service(r, 'six').status, 'up');
  assert.equal(service(r, 'six').host, '::1');

  assert.equal(service(r, 'remote').status, 'unknown');
  const denied = service(r, 'remote').findings.find((f) => f.rule === 'probe.denied')!;
  assert.equal(denied.severity, 'error');
  assert.equal(denied.line, text.split('\n').findIndex((l) => l.includes('10.0.0.1')) + 1, 'located on the host line');

  assert.equal(service(r, 'quiet').status, 'unknown');

  assert.deepEqual(r.summary, { services: 7, up: 2, down: 1, degraded: 2, unknown: 2, errors: 1, warnings: 0 });
  assert.equal(r.valid, true, 'the spec itself has no error');
  assert.equal(r.ok, false, 'a service is down and a finding is an error');
  assert.equal(saved.length, 1);
  assert.equal(saved[0]!.id, r.id);
});

test('all up: ok; a slow health check makes a service degraded', async () => {
  const text = `services:
  api:
    host: 127.0.0.1
    ports: [${tcp.port}]
  slowpoke:
    host: 127.0.0.1
    ports: [${slow.port}]
    health: { http: /health, port: ${slow.port} }
`;
  const fast = createChecker({ prober: new Prober({ httpGet, cacheTtlMs: 0 }), degradedLatencyMs: 5000 });
  const r1 = await fast.check({ text, file: 'ok.yaml' });
  assert.equal(r1.ok, true);
  assert.deepEqual([r1.summary.up, r1.summary.down], [2, 0]);

  const strict = createChecker({ prober: new Prober({ httpGet, cacheTtlMs: 0 }), degradedLatencyMs: 100 });
  const r2 = await strict.check({ text, file: 'ok.yaml' });
  assert.equal(service(r2, 'slowpoke').status, 'degraded');
  assert.match(service(r2, 'slowpoke').reason, /slow/);
  assert.equal(r2.ok, true, 'degraded is not a failure');
});

test('a spec with errors fails the check, its findings attached to their services', async () => {
  const text = `services:
  web:
    host: 127.0.0.1
    cpu: 10m
    ports: [${tcp.port}]
`;
  const r = await createChecker({ prober: new Prober({ cacheTtlMs: 0 }) }).check({ text, file: 'bad.yaml' });
  assert.equal(r.valid, false);
  assert.equal(r.ok, false);
  assert.equal(service(r, 'web').status, 'up', 'still probed');
  assert.deepEqual(service(r, 'web').findings.map((f) => [f.rule, f.line]), [['resources.cpu-min', 4]]);
});

test('a spec that does not parse: one syntax finding, no services', async () => {
  const r = await createChecker({ prober: new Prober({ cacheTtlMs: 0 }) }).check({ text: 'services: [', file: 'broken.yaml' });
  assert.equal(r.ok, false);
  assert.equal(r.services.length, 0);
  assert.equal(r.findings[0]!.rule, 'syntax');
});
