// One test per rule: each fixture marks the lines where findings must appear (`# expect: RULE`),
// and the test asserts the findings are exactly those, on those lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listRules, validateSpec } from '../../../src/capabilities/spec/index.js';
import { assertMarked } from './helpers.js';

function check(text: string): ReturnType<typeof validateSpec> {
  const r = validateSpec(text, { file: 'deploy.yaml' });
  assertMarked(text, r.findings);
  for (const f of r.findings) {
    assert.equal(f.file, 'deploy.yaml');
    assert.ok(f.column >= 1, 'columns start at 1');
    assert.ok(f.message.length > 0);
  }
  return r;
}

test('a valid spec: no findings, defaults from global applied, units parsed', () => {
  const r = check(`
global:
  host: 127.0.0.1
  cpu: 500m
  memory: 1Gi
  environment: { REGION: eu }
services:
  web:
    ports: [8080, 8443]
    environment:
      PORT: 8080
      DATABASE_URL: \${DATABASE_URL}
    health: { http: /health, port: 8080 }
    logs: [/var/log/web.log]
  db:
    host: ::1
    replicas: 3
    cpu: 2
    memory: 512Mi
    ports: [5432]
    health: { tcp: 5432 }
`);
  assert.equal(r.valid, true);
  const [web, db] = r.spec!.services;
  assert.deepEqual(web, {
    name: 'web', host: '127.0.0.1', replicas: 1, cpu: 0.5, memory: 1024 ** 3, ports: [8080, 8443],
    environment: { REGION: 'eu', PORT: '8080', DATABASE_URL: '${DATABASE_URL}' },
    health: { kind: 'http', path: '/health', port: 8080 }, logs: ['/var/log/web.log'],
  });
  assert.equal(db!.host, '::1');
  assert.equal(db!.replicas, 3);
  assert.equal(db!.cpu, 2);
  assert.equal(db!.memory, 512 * 1024 ** 2);
  assert.deepEqual(db!.health, { kind: 'tcp', port: 5432 });
});

test('cpu below 100m and memory below 128Mi (the original three rules, 1 and 2)', () => {
  check(`
services:
  a:
    cpu: 99m        # expect: resources.cpu-min
    memory: 127Mi   # expect: resources.memory-min
  b:
    cpu: 100m
    memory: 128Mi
  c:
    cpu: 0.05       # expect: resources.cpu-min
    memory: 100M    # expect: resources.memory-min
`);
});

test('a port listed twice in one service (the original rule 3), and ports outside 1-65535', () => {
  check(`
services:
  a:
    ports:
      - 80
      - 443
      - 80          # expect: ports.duplicate
      - port: 443   # expect: ports.duplicate
      - 0           # expect: ports.range
      - 65536       # expect: ports.range
      - 65535
      - "8080"
`);
});

test('one port used by two services on one host, but not on different hosts', () => {
  check(`
global:
  host: 10.0.0.1
services:
  a:
    ports: [80, 443]
  b:
    ports: [8080, 80]   # expect: ports.conflict
  c:
    host: 10.0.0.2
    ports: [80]
  d:
    host: 10.0.0.2
    ports:
      - 80              # expect: ports.conflict
`);
});

test('replicas must be a positive integer', () => {
  check(`
services:
  a: { replicas: 0 }      # expect: replicas.positive
  b: { replicas: -2 }     # expect: replicas.positive
  c: { replicas: 1.5 }    # expect: replicas.positive
  d: { replicas: "3" }    # expect: replicas.positive
  e: { replicas: 3 }
`);
});

test('units that cannot be read', () => {
  const r = check(`
services:
  a:
    cpu: two cores    # expect: units.cpu
    memory: 1 GB      # expect: units.memory
  b:
    cpu: [1]          # expect: units.cpu
    memory: 2Gi
`);
  assert.match(r.findings.find((f) => f.rule === 'units.cpu')!.message, /250m/);
});

test('secrets in environment are warnings, references are not, and the value is never echoed', () => {
  const r = check(`
services:
  a:
    environment:
      DB_PASSWORD: hunter2-hunter2                              # expect: environment.secret
      API_TOKEN: \${API_TOKEN}
      STRIPE_KEY: sk-live1234567890abcdefghijklmnop             # expect: environment.secret
      AWS_ID: AKIAIOSFODNN7EXAMPLE                              # expect: environment.secret
      DATABASE_URL: postgres://app:s3cr3tpass@db:5432/app       # expect: environment.secret
      SESSION: 9fQ2xL7vR1mZ8kT4wB6nY3pH5jD0sA2eC8uG              # expect: environment.secret
      LOG_LEVEL: info
      PUBLIC_URL: https://example.com/app
      SECRET_REF: vault:secret/data/app#key
      PORT: 8080
`);
  assert.equal(r.valid, true, 'warnings alone keep a spec valid');
  for (const f of r.findings) {
    assert.equal(f.severity, 'warning');
    for (const secret of ['hunter2-hunter2', 'sk-live1234567890', 'AKIAIOSFODNN7EXAMPLE', 's3cr3tpass', '9fQ2xL7vR1mZ8kT4']) assert.ok(!f.message.includes(secret), `message echoes a secret: ${f.message}`);
  }
});

test('unknown keys are warnings with a "did you mean"; x- keys are extensions', () => {
  const r = check(`
servces: {}           # expect: schema.unknown-key
services:
  a:
    prots: [80]       # expect: schema.unknown-key
    x-team: payments
    health:
      tpc: 80         # expect: schema.unknown-key
      tcp: 80
    zzzzzzzz: 1       # expect: schema.unknown-key
x-owner: ops
`);
  const msgs = r.findings.map((f) => f.message);
  assert.ok(msgs.some((m) => m.includes('"servces"') && m.includes('did you mean "services"')));
  assert.ok(msgs.some((m) => m.includes('"prots"') && m.includes('did you mean "ports"')));
  assert.ok(msgs.some((m) => m.includes('"tpc"') && m.includes('did you mean "tcp"')));
  assert.ok(msgs.some((m) => m.includes('"zzzzzzzz"') && m.includes('known:')));
  // Key findings point at the key itself.
  const prots = r.findings.find((f) => f.message.includes('"prots"'))!;
  assert.equal(prots.column, 5);
  assert.equal(prots.path, 'services.a.prots');
});

test('wrong types and missing required keys', () => {
  check(`
services:
  a:
    ports: 80               # expect: schema.type
    environment: [A, B]     # expect: schema.type
    host: 42                # expect: schema.type
  b:
    environment:
      NESTED: { a: 1 }      # expect: schema.type
    ports:
      - { name: http }      # expect: schema.required
    health:                 # expect: schema.required
      http: /ready
  c: just text              # expect: schema.type
`);
  check(`
version: 1      # expect: schema.required
name: nothing
`);
});

test('health checks: one of tcp or http, a path, a declared port', () => {
  check(`
services:
  a:
    ports: [80]
    health: { tcp: 80, http: /x, port: 80 }   # expect: health.invalid
  b:
    ports: [81]
    health: {}                                # expect: health.invalid
  c:
    ports: [82]
    health:
      http: ready                             # expect: health.invalid
      port: 82
  d:
    ports: [83]
    health:
      tcp: 84                                 # expect: health.port-undeclared
  e:
    health: [80]                              # expect: health.invalid
`);
});

test('hosts, service names, environment names, log paths', () => {
  check(`
services:
  a:
    host: "not a host!"   # expect: host.invalid
  -bad-name-: {}          # expect: service.name
  ok.name_1: {}
  b:
    environment:
      1BAD: x             # expect: environment.name
      GOOD_1: y
    logs:
      - /var/log/b.log
      - ""                # expect: logs.path
      - 42                # expect: logs.path
`);
});

test('unsafe keys are refused, not merged into objects', () => {
  const r = check(`
services:
  a:
    environment:
      __proto__: x        # expect: schema.unsafe-key
      NORMAL: y
`);
  const env = r.spec!.services[0]!.environment;
  assert.deepEqual(Object.keys(env), ['NORMAL']);
  assert.equal(Object.getPrototypeOf(env), Object.prototype);
});

test('several documents: services merge, a service declared twice is an error, global keys merge', () => {
  const r = check(`
global:
  host: 127.0.0.1
services:
  a: { ports: [80] }
---
global:
  host: ::1          # expect: global.duplicate
  cpu: 250m
services:
  b: { ports: [81] }
  a: { ports: [82] }  # expect: service.duplicate
`);
  assert.deepEqual(r.spec!.services.map((s) => [s.name, s.host, s.cpu]), [['a', '::1', 0.25], ['b', '::1', 0.25]]);
});

test('a document that is not a mapping', () => {
  check(`- just     # expect: schema.type, expect: schema.required\n- a list\n`);
});

test('every rule in the table has a description and a severity', () => {
  for (const r of listRules()) {
    assert.ok(r.description.length > 10, r.rule);
    assert.ok(r.severity === 'error' || r.severity === 'warning');
  }
});
