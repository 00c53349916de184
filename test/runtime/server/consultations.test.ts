// The consultations API on a real engine (SQLite store, config, metrics) whose LLM experts speak to the
// mock provider server over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../src/runtime/engine.js';
import { buildApp } from '../../../src/runtime/server/app.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';

const KEY = 'sk-route-test-SECRET-42';
let mock: MockProviderServer;
let engine: Engine;
let app: FastifyInstance;
const w = tempWorkdir('code-consult-');

before(async () => {
  mock = await MockProviderServer.start();
  mock.scriptDefault((req) => /never answer/.test(req.user) ? { kind: 'hang' } : ({ kind: 'answer', content: answerJson({ answer: /deploy/i.test(req.user) ? 'approve' : 'A', confidence: 0.8, recommendations: ['Add a canary stage'] }), delayMs: /slowly/.test(req.user) ? 150 : 0 }));
  engine = await testEngine(w.dir, {
    env: { ROUTE_KEY: KEY },
    overrides: {
      experts: {
        providers: [
          { name: 'gpt', kind: 'openai', baseUrl: `${mock.url}/v1`, model: 'gpt-x', apiKeyEnv: 'ROUTE_KEY' },
          { name: 'claude', kind: 'anthropic', baseUrl: mock.url, model: 'claude-x', apiKeyEnv: 'ROUTE_KEY' },
          { name: 'local', kind: 'ollama', baseUrl: mock.url, model: 'llama-x', stream: false },
        ],
        minResponses: 2,
        earlyReturn: false,
        expertTimeoutMs: 5_000,
      },
    },
  });
  app = await buildApp({ engine, host: '127.0.0.1' });
});
after(async () => {
  await app.close();
  await engine.close();
  await mock.close();
  w.cleanup();
});

describe('consultations API', () => {
  it('POST /v1/consultations waits and returns the consensus', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'A or B?', choices: ['A', 'B'] } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.answer, 'A');
    assert.equal(r.responded, 3);
    assert.equal(r.requested, 7);
    assert.deepEqual(r.experts.map((e: { name: string; status: string }) => [e.name, e.status]), [
      ['gpt', 'ok'],
      ['claude', 'ok'],
      ['local', 'ok'],
      ['security', 'abstain'],
      ['reliability', 'abstain'],
      ['performance', 'abstain'],
      ['cost', 'abstain'],
    ]);
    assert.deepEqual(r.recommendations[0], { text: 'Add a canary stage', supporters: ['claude', 'gpt', 'local'], share: 1, majority: true, rules: [] });
    assert.equal(r.degraded, false);
    assert.ok(!res.body.includes(KEY));
    const gptCall = mock.requests.find((q) => q.model === 'gpt-x')!;
    assert.equal(gptCall.headers.authorization, `Bearer ${KEY}`, 'the key went to the provider, from the environment');
  });

  it('POST with wait=false returns an id; GET polls it to the result; the history lists it', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'slowly: A or B?', choices: ['A', 'B'], wait: false } });
    assert.equal(res.statusCode, 202);
    const { id, location } = res.json();
    assert.equal(res.headers.location, `/v1/consultations/${id}`);
    assert.equal(location, `/v1/consultations/${id}`);
    const first = await app.inject({ url: `/v1/consultations/${id}` });
    assert.equal(first.statusCode, 202);
    assert.equal(first.json().state, 'running');
    let poll = first;
    for (let i = 0; i < 200 && poll.statusCode === 202; i++) {
      await new Promise((r) => setTimeout(r, 20));
      poll = await app.inject({ url: `/v1/consultations/${id}` });
    }
    assert.equal(poll.statusCode, 200);
    assert.equal(poll.json().id, id);
    assert.equal(poll.json().answer, 'A');
    const list = (await app.inject({ url: '/v1/consultations?limit=10' })).json();
    assert.ok(list.consultations.some((c: { id: string }) => c.id === id));
  });

  it('reviews a deployment with the built-in experts among the rest', async () => {
    const context = { spec: { services: [{ name: 'api', image: 'api:1.0.0', replicas: 1 }] }, probes: [{ host: '10.1.1.1', port: 23, state: 'open' }] };
    const res = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { kind: 'review', question: 'Can we deploy this?', context } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    const byName = Object.fromEntries(r.experts.map((e: { name: string }) => [e.name, e]));
    assert.equal(byName.security.answer, 'changes-requested');
    assert.ok(byName.security.recommendations.some((x: { rule: string }) => x.rule === 'security/cleartext-protocol'));
    assert.equal(byName.gpt.answer, 'approve');
    assert.deepEqual(r.choices, ['approve', 'changes-requested']);
    assert.ok(r.recommendations.some((g: { rules: string[] }) => g.rules.includes('security/cleartext-protocol')));
  });

  it('runs a batch', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/consultations/batch', payload: { consultations: [{ question: 'one?', choices: ['A', 'B'] }, { question: 'two?', choices: ['A', 'B'], experts: ['nobody'] }] } });
    assert.equal(res.statusCode, 200);
    const { items } = res.json();
    assert.equal(items[0].ok, true);
    assert.equal(items[0].result.answer, 'A');
    assert.deepEqual(items[1], { ok: false, error: { code: 'EXPERTS_UNKNOWN_EXPERT', message: 'unknown expert "nobody" (configured: gpt, claude, local, security, reliability, performance, cost)' } });
  });

  it('answers bad input and unknown ids with problem+json', async () => {
    const one = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'q', choices: ['only'] } });
    assert.equal(one.statusCode, 400);
    assert.equal(one.json().code, 'REQUEST_INVALID');
    const who = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'q', experts: ['nobody'] } });
    assert.equal(who.statusCode, 400);
    assert.equal(who.json().code, 'EXPERTS_UNKNOWN_EXPERT');
    const dup = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'q', choices: ['a', 'A'] } });
    assert.equal(dup.json().code, 'EXPERTS_INVALID_REQUEST');
    assert.match(dup.json().detail, /choices\[1\]: repeats "A"/);
    const missing = await app.inject({ url: '/v1/consultations/cons_nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(missing.json().code, 'EXPERTS_NOT_FOUND');
  });

  it('DELETE cancels a background consultation; GET then reports it failed', async () => {
    const started = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question: 'never answer this either', experts: ['gpt'], wait: false } });
    assert.equal(started.statusCode, 202);
    const { id } = started.json();
    const del = await app.inject({ method: 'DELETE', url: `/v1/consultations/${id}` });
    assert.equal(del.statusCode, 202);
    let state = await app.inject({ url: `/v1/consultations/${id}` });
    for (let i = 0; i < 100 && state.statusCode === 202; i++) {
      await new Promise((r) => setTimeout(r, 10));
      state = await app.inject({ url: `/v1/consultations/${id}` });
    }
    assert.equal(state.statusCode, 200);
    assert.deepEqual(state.json(), { id, state: 'failed', error: { code: 'EXPERTS_CANCELLED', message: 'the consultation was cancelled' } });
    const again = await app.inject({ method: 'DELETE', url: `/v1/consultations/${id}` });
    assert.equal(again.statusCode, 404);
    assert.match(again.json().detail, /is not running \(failed\)/);
  });

  it('cancels a waiting consultation when its client goes away', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const failedBefore = engine.metrics.exposition().match(/code_consultations_total\{outcome="failed"\} (\d+)/)?.[1] ?? '0';
    const ac = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/v1/consultations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ question: 'never answer this', experts: ['gpt'] }), signal: ac.signal }).catch((err: Error) => err);
    for (let i = 0; i < 100 && !mock.requests.some((r) => r.user.includes('never answer this')); i++) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.ok((await pending) instanceof Error);
    let failed = failedBefore;
    for (let i = 0; i < 100 && failed === failedBefore; i++) {
      await new Promise((r) => setTimeout(r, 10));
      failed = engine.metrics.exposition().match(/code_consultations_total\{outcome="failed"\} (\d+)/)?.[1] ?? '0';
    }
    assert.equal(Number(failed), Number(failedBefore) + 1, 'the consultation was cancelled, not left to its 5 s timeout');
  });

  it('lists the experts, documents the routes, and exposes metrics per expert', async () => {
    const experts = (await app.inject({ url: '/v1/experts' })).json();
    assert.deepEqual(experts.experts.map((e: { name: string }) => e.name), ['gpt', 'claude', 'local', 'security', 'reliability', 'performance', 'cost']);
    assert.equal(experts.options.minResponses, 2);
    const openapi = (await app.inject({ url: '/openapi.json' })).json();
    for (const p of ['/v1/consultations', '/v1/consultations/batch', '/v1/consultations/{id}', '/v1/experts']) assert.ok(openapi.paths[p], p);
    assert.ok(openapi.paths['/v1/consultations/{id}'].delete);
    const flags = (await app.inject({ url: '/v1/flags' })).json().flags.map((f: { name: string; enabled: boolean }) => [f.name, f.enabled]);
    assert.deepEqual(flags.filter((f: [string, boolean]) => f[0].startsWith('experts.')).sort(), [['experts.cache', true], ['experts.earlyReturn', true]]);
    const text = engine.metrics.exposition();
    assert.match(text, /code_expert_answers_total\{expert="claude",status="ok"\}/);
    assert.match(text, /code_expert_tokens_total\{expert="gpt",direction="output"\}/);
    assert.ok(!text.includes(KEY));
  });
});

describe('experts config', () => {
  it('applies live keys from a new config version to the next consultations', async (t) => {
    const dir = tempWorkdir('code-consult-live-');
    t.after(dir.cleanup);
    const file = dir.write('codectl.yaml', 'experts:\n  minResponses: 2\n  expertTimeoutMs: 1000\n');
    const first = await testEngine(dir.dir, { path: file });
    t.after(() => first.close());
    assert.equal(first.experts.options().minResponses, 2);
    dir.write('codectl.yaml', 'experts:\n  minResponses: 4\n  expertTimeoutMs: 2500\n');
    const second = await testEngine(dir.dir, { path: file }); // records config version 2 in the shared store
    await second.close();
    await first.config.sync();
    assert.equal(first.experts.options().minResponses, 4);
    assert.equal(first.experts.options().expertTimeoutMs, 2500);
  });
});
