import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuiltinExpert, createBuiltinExperts } from '../../../src/capabilities/experts/builtin/expert.js';
import { parseCpu, parseMemoryMb, readReviewInput } from '../../../src/capabilities/experts/builtin/input.js';
import { runCircle } from '../../../src/capabilities/experts/circle.js';
import type { ExpertOutcome, Question } from '../../../src/capabilities/experts/types.js';

const signal = new AbortController().signal;

/** A deployment that every built-in expert should approve. */
const clean = {
  spec: {
    name: 'shop',
    services: [
      { name: 'api', image: 'shop/api:1.4.2', replicas: 3, ports: [{ port: 8443, public: true, tls: true }], healthcheck: { path: '/health' }, resources: { limits: { cpu: '500m', memory: '512Mi' } }, env: { DB_PASSWORD: '${DB_PASSWORD}', LOG_LEVEL: 'info' } },
      { name: 'db', image: 'postgres:16.4', replicas: 2, ports: [5432], healthcheck: true, resources: { cpu: 2, memory: '4Gi' } },
    ],
  },
  findings: [],
  probes: [
    { host: '10.0.0.5', port: 8443, state: 'open', latencyMs: 3, health: { ok: true, status: 200, latencyMs: 12 } },
    { host: '127.0.0.1', port: 5432, state: 'open', latencyMs: 1 },
  ],
  logs: { lines: 10_000, levels: { info: 9_950, warn: 40, error: 10 }, top: [{ message: 'request served', count: 9_000, level: 'info' }] },
};

/** A deployment with one problem per expert. */
const risky = {
  spec: {
    services: {
      api: { image: 'shop/api:latest', replicas: 1, ports: ['80:8080', '23:23'], environment: ['API_TOKEN=abc123', 'MODE=prod'], privileged: true },
      cache: { image: 'redis', replicas: 60, ports: [{ port: 6379, public: true }], deploy: {}, resources: { limits: { cpus: '32', memory: '128Gi' } }, healthcheck: { disable: true } },
    },
  },
  findings: [{ rule: 'spec/duplicate-port', severity: 'error', message: 'port 80 declared twice', line: 12 }],
  probes: [
    { host: '10.0.0.7', port: 6379, state: 'open', latencyMs: 1_500 },
    { host: '10.0.0.7', port: 8080, state: 'closed' },
    { host: '10.0.0.8', port: 8443, state: 'open', latencyMs: 2, health: { ok: false, status: 503 } },
  ],
  logs: {
    lines: 2_000,
    levels: { debug: 1_500, info: 300, error: 200 },
    top: [
      { message: 'FATAL: out of memory, killing worker', count: 12, level: 'error' },
      { message: 'upstream request timed out after 30000 ms', count: 40, level: 'error' },
      { message: 'authentication failed for user admin', count: 25, level: 'warn' },
    ],
  },
};

const review = (context: unknown): Question => ({ kind: 'review', question: 'Can this deployment go out?', choices: ['approve', 'changes-requested'], context });
const okOf = (o: ExpertOutcome) => {
  assert.equal(o.status, 'ok', JSON.stringify(o));
  if (o.status !== 'ok') throw new Error('not ok');
  return o.answer;
};

describe('built-in experts', () => {
  it('approve a clean deployment, saying what they checked', async () => {
    for (const e of createBuiltinExperts(['security', 'reliability', 'performance', 'cost'])) {
      const a = okOf(await e.ask(review(clean), { signal }));
      assert.equal(a.answer, 'approve', `${e.name}: ${a.rationale}`);
      assert.ok(a.confidence >= 0.85 && a.confidence <= 0.9, `${e.name} ${a.confidence}`);
      assert.match(a.rationale, /nothing found/);
      assert.deepEqual(a.recommendations, []);
    }
  });

  it('request changes on a risky deployment, each recommendation naming its rule', async () => {
    const expected: Record<string, string[]> = {
      security: ['security/auth-failures', 'security/cleartext-protocol', 'security/datastore-exposed', 'security/privileged-container', 'security/secret-in-spec'],
      reliability: ['reliability/crash-signs', 'reliability/error-rate', 'reliability/health-failing', 'reliability/no-healthcheck', 'reliability/port-unreachable', 'reliability/single-replica', 'reliability/spec-invalid', 'reliability/unpinned-image'],
      performance: ['performance/no-resource-limits', 'performance/slow-connect', 'performance/timeouts-in-logs'],
      cost: ['cost/debug-logging', 'cost/large-replica', 'cost/many-replicas', 'cost/total-footprint', 'cost/unbounded-resources'],
    };
    for (const e of createBuiltinExperts(Object.keys(expected))) {
      const a = okOf(await e.ask(review(risky), { signal }));
      assert.equal(a.answer, 'changes-requested', e.name);
      assert.ok(a.confidence > 0.6 && a.confidence <= 0.95);
      assert.ok(a.recommendations.every((r) => typeof r.rule === 'string' && r.rule.startsWith(`${e.name}/`)));
      const rules = [...new Set(a.recommendations.map((r) => r.rule!))].sort();
      for (const want of expected[e.name]!) assert.ok(rules.includes(want), `${e.name} misses ${want}; got ${rules.join(', ')}`);
    }
    const sec = okOf(await new BuiltinExpert('security').ask(review(risky), { signal }));
    assert.ok(sec.recommendations[0]!.rule === 'security/secret-in-spec', 'critical findings come first');
    assert.match(sec.recommendations[0]!.text, /API_TOKEN of service api/);
    assert.ok(!JSON.stringify(sec).includes('abc123'), 'the secret value is never repeated');
  });

  it('abstain, explicitly, on anything that is not a deployment review', async () => {
    const e = new BuiltinExpert('security');
    const general = await e.ask({ question: 'Which database should we use?', choices: ['postgres', 'mysql'] }, { signal });
    assert.equal(general.status, 'abstain');
    if (general.status === 'abstain') assert.match(general.reason, /reviews deployments only/);
    const otherChoices = await e.ask({ kind: 'review', question: 'Rate it', choices: ['good', 'bad'], context: clean }, { signal });
    assert.equal(otherChoices.status, 'abstain');
    const empty = await e.ask({ kind: 'review', question: 'Review', context: { nothing: true } }, { signal });
    assert.equal(empty.status, 'abstain');
    if (empty.status === 'abstain') assert.match(empty.reason, /no spec, findings, probe results or logs/);
  });

  it('say how much they could see: less input, less confident approval', async () => {
    const onlyLogs = okOf(await new BuiltinExpert('reliability').ask(review({ logs: clean.logs }), { signal }));
    assert.equal(onlyLogs.answer, 'approve');
    assert.equal(onlyLogs.confidence, 0.6);
    assert.match(onlyLogs.rationale, /not available: spec, findings, probes/);
  });

  it('never crash on odd input', async () => {
    const odd = [
      { spec: { services: 'many' } },
      { spec: { services: [null, 3, { name: 7, ports: [{}, 'x:y', 99999, -1], env: [1, 'NOEQUALS', { name: 'A' }] }] } },
      { probes: [{ port: 'x' }, { host: 1, port: 80, state: 'weird', health: 'yes' }] },
      { logs: { levels: { error: -5, info: 'many' }, top: [{ message: 1 }, null] } },
      { findings: [null, { severity: 9 }] },
    ];
    for (const ctx of odd) {
      for (const e of createBuiltinExperts(['security', 'reliability', 'performance', 'cost'])) {
        const o = await e.ask(review(ctx), { signal });
        assert.ok(o.status === 'ok' || o.status === 'abstain', `${e.name}: ${JSON.stringify(o)}`);
      }
    }
    assert.throws(() => createBuiltinExperts(['security', 'vibes']), { code: 'EXPERTS_CONFIG_INVALID' });
  });

  it('read CPU and memory in the usual spellings', () => {
    assert.equal(parseCpu('500m'), 0.5);
    assert.equal(parseCpu('2'), 2);
    assert.equal(parseMemoryMb('512Mi'), 512);
    assert.equal(parseMemoryMb('1Gi'), 1024);
    assert.equal(Math.round(parseMemoryMb('1G')!), 954);
    assert.equal(parseMemoryMb('lots'), null);
    assert.equal(parseMemoryMb(536870912), 512, 'a bare number is bytes, as the spec capability normalises it');
    assert.equal(readReviewInput('text'), null);
    assert.deepEqual(readReviewInput({ spec: { services: { web: { ports: ['127.0.0.1:80:8080'] } } } })!.spec!.services[0]!.ports, [{ port: 80, public: false, protocol: null, tls: null }]);
  });

  it('make a circle of their own for a review, abstaining together on other questions', async () => {
    const experts = createBuiltinExperts(['security', 'reliability', 'performance', 'cost']);
    const r = await runCircle(experts, review(risky), { seed: 'r', earlyReturn: false });
    assert.equal(r.answer, 'changes-requested');
    assert.equal(r.agreement, 1);
    assert.equal(r.responded, 4);
    const g = await runCircle(experts, { question: 'Tabs or spaces?', choices: ['tabs', 'spaces'] }, { seed: 'g' });
    assert.equal(g.answer, null);
    assert.equal(g.responded, 0);
    assert.deepEqual(g.experts.map((e) => e.status), ['abstain', 'abstain', 'abstain', 'abstain']);
    assert.equal(g.degraded, false, 'abstaining is not a failure');
  });
});
