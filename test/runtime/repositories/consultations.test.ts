import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeConsensus } from '../../../src/capabilities/experts/consensus.js';
import type { ConsultationResult } from '../../../src/capabilities/experts/types.js';
import { consultationHistory, getConsultation, listConsultations, saveConsultation } from '../../../src/runtime/repositories/consultations.js';
import { allMigrations } from '../../../src/runtime/repositories/index.js';
import { forEachStore } from '../../helpers/stores.js';

function result(id: string, createdAt: number, question: string): ConsultationResult {
  const consensus = computeConsensus(
    [
      { name: 'gpt', answer: { answer: 'A', confidence: 0.8, recommendations: [{ text: 'Add an index', rule: 'perf/index' }], rationale: 'ü – ✓ quotes "x"' } },
      { name: 'claude', answer: { answer: 'B', confidence: 0.6, recommendations: [], rationale: '' } },
    ],
    { choices: ['A', 'B'] },
  );
  return {
    id,
    kind: 'question',
    question,
    choices: ['A', 'B'],
    ...consensus,
    experts: [
      { name: 'gpt', kind: 'llm', status: 'ok', answer: 'A', confidence: 0.8, latencyMs: 12.5, error: null, recommendations: [{ text: 'Add an index', rule: 'perf/index' }], rationale: 'r', tokens: { inputTokens: 100, outputTokens: 20 }, costUsd: 0.00042, attempts: 1 },
      { name: 'local', kind: 'llm', status: 'timeout', answer: null, confidence: null, latencyMs: 30000, error: 'no answer within 30000 ms', recommendations: [], rationale: null, tokens: null, costUsd: null, attempts: 1 },
    ],
    degraded: true,
    causes: [{ expert: 'local', kind: 'timeout', reason: 'no answer within 30000 ms' }],
    requested: 3,
    responded: 2,
    quorum: true,
    ranking: null,
    durationMs: 30001.25,
    hash: 'f'.repeat(64),
    cached: false,
    createdAt,
  };
}

test('consultations repository: round trip, newest first, since, long questions (SQLite and PostgreSQL)', (t) =>
  forEachStore(t, async (store) => {
    await store.migrate(allMigrations);
    const t0 = 1_800_000_000_000; // beyond 2^32: BIGINT on both
    const a = result('cons_a', t0, 'first?');
    const b = result('cons_b', t0 + 1000, 'q'.repeat(5000));
    await saveConsultation(store, a);
    await consultationHistory(store).save(b);
    assert.deepEqual(await getConsultation(store, 'cons_a'), a);
    assert.deepEqual(await consultationHistory(store).get('cons_b'), b, 'the full question is kept in the result');
    assert.equal(await getConsultation(store, 'cons_nope'), undefined);
    const list = await listConsultations(store, { limit: 10 });
    assert.deepEqual(list.map((s) => [s.id, s.createdAt, s.answer, s.degraded, s.responded, s.cached]), [
      ['cons_b', t0 + 1000, 'A', true, 2, false],
      ['cons_a', t0, 'A', true, 2, false],
    ]);
    assert.equal(list[0]!.question.length, 500, 'the summary column is cut; the result is not');
    assert.deepEqual((await listConsultations(store, { since: t0 + 1 })).map((s) => s.id), ['cons_b']);
    await assert.rejects(saveConsultation(store, a), { code: 'STORE_QUERY_FAILED' });
  }));
