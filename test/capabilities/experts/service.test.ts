// The experts service with the real parts around it: the tiered cache (L1), the SQLite store with the
// consultations repository, the metrics registry, and LLM experts over real HTTP to the mock server.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { createCache } from '../../../src/platform/cache/index.js';
import type { TieredCache } from '../../../src/platform/cache/index.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { SqliteStore } from '../../../src/platform/store/sqlite.js';
import { createBuiltinExperts } from '../../../src/capabilities/experts/builtin/expert.js';
import { LlmExpert } from '../../../src/capabilities/experts/llm-expert.js';
import { createProvider } from '../../../src/capabilities/experts/providers/index.js';
import { undiciTransport } from '../../helpers/undici-transport.js';
import { ExpertsService } from '../../../src/capabilities/experts/service.js';
import type { ConsultationState } from '../../../src/capabilities/experts/service.js';
import type { Expert } from '../../../src/capabilities/experts/types.js';
import { consultationHistory, getConsultation, listConsultations, migrations } from '../../../src/runtime/repositories/consultations.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';

const KEY = 'sk-live-VERY-SECRET-0987654321';
let mock: MockProviderServer;
let agent: Agent;
let store: SqliteStore;
let cache: TieredCache;

before(async () => {
  mock = await MockProviderServer.start();
  agent = new Agent({ connections: 16 });
  store = new SqliteStore({ path: ':memory:' });
  await store.migrate(migrations);
});
after(async () => {
  await agent.close();
  await mock.close();
  await store.close();
});
beforeEach(async () => {
  cache = await createCache({ name: 'experts-test', l1: { maxItems: 100 } });
});

function llm(name: string, kind: 'openai' | 'anthropic' | 'ollama', answer = 'A', delayMs = 0): Expert {
  mock.script(name, (req) => (/Rank them/.test(req.system) ? { kind: 'answer', content: '{"ranking": []}' } : { kind: 'answer', content: answerJson({ answer, confidence: 0.75, recommendations: ['Add a read replica'] }), delayMs }));
  const provider = createProvider(
    { name, kind, baseUrl: kind === 'openai' ? `${mock.url}/v1` : mock.url, model: name, apiKeyEnv: 'TEST_PROVIDER_KEY', pricing: { inputPerMTok: 3, outputPerMTok: 15 } },
    { transport: undiciTransport({ dispatcher: agent }), env: { TEST_PROVIDER_KEY: KEY } },
  );
  return new LlmExpert(provider, { pricing: { inputPerMTok: 3, outputPerMTok: 15 } });
}

function service(experts: Expert[], extra: Partial<ConstructorParameters<typeof ExpertsService>[0]> = {}) {
  const metrics = createMetricsRegistry();
  const svc = new ExpertsService({ experts, cache, history: consultationHistory(store), metrics, circle: { minResponses: 2, expertTimeoutMs: 2_000, earlyReturn: false }, ...extra });
  return { svc, metrics };
}

describe('experts service', () => {
  it('answers with the JSON result of the issue, stores it, and records metrics per expert', async () => {
    const experts = [llm('svc-gpt', 'openai'), llm('svc-claude', 'anthropic'), llm('svc-local', 'ollama', 'B'), ...createBuiltinExperts(['security'])];
    const { svc, metrics } = service(experts);
    const r = await svc.consult({ question: 'A or B?', choices: ['A', 'B'], context: { note: 'hello' } });
    for (const k of ['id', 'question', 'answer', 'agreement', 'entropy', 'votes', 'recommendations', 'dissent', 'experts', 'degraded', 'requested', 'responded', 'durationMs']) assert.ok(k in r, `missing ${k}`);
    assert.equal(r.answer, 'A');
    assert.equal(r.requested, 4);
    assert.equal(r.responded, 3);
    assert.equal(r.degraded, false);
    assert.deepEqual(r.experts.map((e) => [e.name, e.status]), [
      ['svc-gpt', 'ok'],
      ['svc-claude', 'ok'],
      ['svc-local', 'ok'],
      ['security', 'abstain'],
    ]);
    for (const e of r.experts.slice(0, 3)) {
      assert.ok(e.latencyMs > 0);
      assert.ok(e.tokens!.inputTokens > 0);
      assert.ok(e.costUsd! > 0);
      assert.deepEqual(Object.keys(e).filter((k) => ['name', 'status', 'answer', 'confidence', 'latencyMs', 'error'].includes(k)).length, 6);
    }
    assert.deepEqual(r.recommendations[0], { text: 'Add a read replica', supporters: ['svc-claude', 'svc-gpt', 'svc-local'], share: 1, majority: true, rules: [] });

    const stored = await getConsultation(store, r.id);
    assert.deepEqual(stored, r);
    const rows = await store.query<{ result: string }>('SELECT result FROM consultations');
    assert.ok(rows.every((row) => !row.result.includes(KEY)), 'no key in the store');
    assert.ok(!JSON.stringify(r).includes(KEY), 'no key in the result');

    const text = metrics.exposition();
    assert.match(text, /code_expert_answers_total\{expert="svc-gpt",status="ok"\} 1/);
    assert.match(text, /code_expert_answers_total\{expert="security",status="abstain"\} 1/);
    assert.match(text, /code_expert_tokens_total\{expert="svc-claude",direction="input"\} \d+/);
    assert.match(text, /code_expert_cost_usd_total\{expert="svc-local"\} [\d.e-]+/);
    assert.match(text, /code_consultations_total\{outcome="ok"\} 1/);
    assert.equal(metrics.histogram({ name: 'code_expert_latency_ms', help: 'Time one expert took to answer, by expert and status', labelNames: ['expert', 'status'], unit: 'ms' }).snapshot({ expert: 'svc-gpt', status: 'ok' }).count, 1);
  });

  it('answers the same consultation from the cache, keyed by question, context and expert set', async () => {
    const experts = [llm('c-1', 'openai'), llm('c-2', 'ollama'), llm('c-3', 'anthropic')];
    const { svc, metrics } = service(experts);
    const req = { question: 'Cache me?', choices: ['A', 'B'], context: 'ctx' };
    const first = await svc.consult(req);
    const calls = mock.requests.length;
    const second = await svc.consult(req);
    assert.equal(mock.requests.length, calls, 'no provider call');
    assert.equal(second.cached, true);
    assert.notEqual(second.id, first.id);
    assert.equal(second.hash, first.hash);
    assert.equal(second.answer, first.answer);
    assert.ok(await getConsultation(store, second.id), 'cache hits are in the history too');
    await svc.consult({ ...req, context: 'other ctx' });
    await svc.consult({ ...req, experts: ['c-1', 'c-2'] });
    await svc.consult({ ...req, fresh: true });
    assert.equal(mock.requests.length, calls + 3 + 2 + 3, 'new context, new expert set and fresh all ask again');
    assert.match(metrics.exposition(), /code_consultations_total\{outcome="cached"\} 1/);
  });

  it('obeys its feature flags, read per consultation: experts.cache and experts.earlyReturn', async () => {
    const flags = { cache: true, early: true };
    const experts = [llm('f-1', 'openai'), llm('f-2', 'ollama'), llm('f-3', 'anthropic', 'B', 300)];
    const { svc } = service(experts, { circle: { minResponses: 2, earlyReturn: true, expertTimeoutMs: 5_000 }, flags: { cache: () => flags.cache, earlyReturn: () => flags.early } });
    const early = await svc.consult({ question: 'Flags?', choices: ['A', 'B'] });
    assert.equal(early.experts[2]!.status, 'skipped', 'two confident As decide it: the slow third is not waited for');
    flags.early = false;
    flags.cache = false;
    const calls = mock.requestsFor('f-1').length;
    const all = await svc.consult({ question: 'Flags?', choices: ['A', 'B'] });
    assert.equal(all.cached, false, 'cache off: asked again');
    assert.equal(mock.requestsFor('f-1').length, calls + 1);
    assert.deepEqual(all.experts.map((e) => e.status), ['ok', 'ok', 'ok'], 'early return off: every expert waited for');
    flags.cache = true;
    const cachedAgain = await svc.consult({ question: 'Flags?', choices: ['A', 'B'] });
    assert.equal(cachedAgain.cached, true, 'cache back on: the first result is served');
  });

  it('never caches a degraded result', async () => {
    mock.script('broken', { kind: 'status', status: 503, message: 'unavailable' });
    const broken = new LlmExpert(createProvider({ name: 'broken', kind: 'openai', baseUrl: `${mock.url}/v1`, model: 'broken' }, { transport: undiciTransport({ dispatcher: agent }), env: {} }));
    const { svc } = service([llm('d-1', 'openai'), llm('d-2', 'ollama'), broken]);
    const a = await svc.consult({ question: 'Degraded?', choices: ['A', 'B'] });
    assert.equal(a.degraded, true);
    assert.deepEqual(a.causes, [{ expert: 'broken', kind: 'error', reason: 'broken: HTTP 503: unavailable' }]);
    const b = await svc.consult({ question: 'Degraded?', choices: ['A', 'B'] });
    assert.equal(b.cached, false);
  });

  it('runs in the background for polling, and finds old results in the history', async () => {
    const { svc } = service([llm('bg-1', 'openai', 'A', 100), llm('bg-2', 'anthropic', 'A', 100)]);
    const { id } = svc.start({ question: 'Later?', choices: ['A', 'B'] });
    const running = await svc.get(id);
    assert.equal(running?.state, 'running');
    let state: ConsultationState | undefined = running;
    for (let i = 0; i < 100 && state?.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = await svc.get(id);
    }
    assert.equal(state?.state, 'done');
    if (state?.state === 'done') assert.equal(state.result.answer, 'A');
    assert.equal(await svc.get('cons_unknown'), undefined);
    const other = service([]).svc; // another process: only the store is shared
    const found = await other.get(id);
    assert.equal(found?.state, 'done');
    assert.ok((await listConsultations(store, { limit: 5 })).some((s) => s.id === id));
  });

  it('runs batches with a concurrency limit; one bad item does not fail the others', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    mock.script('batch-1', async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      return { kind: 'answer', content: answerJson({ answer: 'B', confidence: 0.9 }) };
    });
    const e = new LlmExpert(createProvider({ name: 'batch-1', kind: 'ollama', baseUrl: mock.url, model: 'batch-1' }, { transport: undiciTransport({ dispatcher: agent }), env: {} }));
    const { svc } = service([e], { batchConcurrency: 2, circle: { minResponses: 1 } });
    const items = await svc.batch([...Array.from({ length: 5 }, (_, i) => ({ question: `q${i}`, choices: ['A', 'B'] })), { question: '' }]);
    assert.equal(items.length, 6);
    assert.ok(items.slice(0, 5).every((i) => i.ok && i.result.answer === 'B'));
    assert.deepEqual(items[5], { ok: false, error: { code: 'EXPERTS_INVALID_REQUEST', message: 'question: must be a non-empty string' } });
    assert.equal(maxInFlight, 2);
    await assert.rejects(svc.batch(Array.from({ length: 101 }, () => ({ question: 'x' }))), { code: 'EXPERTS_INVALID_REQUEST' });
  });

  it('refuses bad requests with a clear error naming the key', async () => {
    const { svc } = service([llm('v-1', 'openai')]);
    await assert.rejects(svc.consult({ question: '   ' }), { code: 'EXPERTS_INVALID_REQUEST', message: 'question: must be a non-empty string' });
    await assert.rejects(svc.consult({ question: 'q', choices: ['only'] }), { message: 'choices: needs at least 2 choices' });
    await assert.rejects(svc.consult({ question: 'q', choices: ['a', 'A'] }), { message: 'choices[1]: repeats "A"' });
    await assert.rejects(svc.consult({ question: 'q', context: 'x'.repeat(300_000) }), { message: /context: is larger than 262144 bytes/ });
    await assert.rejects(svc.consult({ question: 'q', experts: ['nobody'] }), { code: 'EXPERTS_UNKNOWN_EXPERT', message: /unknown expert "nobody" \(configured: v-1\)/ });
    await assert.rejects(svc.consult({ question: 'q', kind: 'poll' as never }), { message: 'kind: must be "question" or "review"' });
    assert.throws(() => new ExpertsService({ experts: [llm('dup', 'openai'), llm('dup', 'ollama')] }), { code: 'EXPERTS_CONFIG_INVALID' });
  });

  it('cancels background consultations on close', async () => {
    mock.script('hang-1', { kind: 'hang' });
    const e = new LlmExpert(createProvider({ name: 'hang-1', kind: 'openai', baseUrl: `${mock.url}/v1`, model: 'hang-1' }, { transport: undiciTransport({ dispatcher: agent }), env: {} }));
    const { svc } = service([e], { circle: { expertTimeoutMs: 60_000, deadlineMs: 60_000 } });
    const { id } = svc.start({ question: 'forever?' });
    const t0 = performance.now();
    await svc.close();
    assert.ok(performance.now() - t0 < 1_000);
    const s = await svc.get(id);
    assert.equal(s?.state, 'failed');
    if (s?.state === 'failed') assert.equal(s.error.code, 'EXPERTS_CANCELLED');
    assert.throws(() => svc.start({ question: 'again' }), { code: 'EXPERTS_CANCELLED' });
  });
});
