// The engine's memory responders act on real parts: under pressure the LLM experts' breakers are
// isolated (built-in experts still answer; the LLM expert says it could not), and the probe
// concurrency ceiling is lowered; both come back when the pressure is over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../src/runtime/engine.js';
import { buildApp } from '../../../src/runtime/server/app.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';

let mock: MockProviderServer;
let engine: Engine;
let app: FastifyInstance;
const w = tempWorkdir('code-memory-wiring-');

before(async () => {
  mock = await MockProviderServer.start();
  mock.scriptDefault(() => ({ kind: 'answer', content: answerJson({ answer: 'A', confidence: 0.9 }) }));
  engine = await testEngine(w.dir, {
    overrides: {
      experts: { providers: [{ name: 'local', kind: 'ollama', baseUrl: mock.url, model: 'llama-x', stream: false }], earlyReturn: false, expertTimeoutMs: 5_000 },
      probe: { maxConcurrency: 16 },
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

const consult = async (question: string): Promise<{ experts: Array<{ name: string; status: string }> }> => {
  const res = await app.inject({ method: 'POST', url: '/v1/consultations', payload: { question, choices: ['A', 'B'], fresh: true } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};
const statusOf = (r: { experts: Array<{ name: string; status: string }> }, name: string): string | undefined => r.experts.find((e) => e.name === name)?.status;

describe('memory responders on the engine', () => {
  it('isolates the LLM experts under pressure and lets them answer again after', async () => {
    assert.equal(engine.memory.breakers.targets.size, 1, 'one breaker per LLM provider is registered');
    assert.equal(statusOf(await consult('A or B? (before)'), 'local'), 'ok');
    const before = mock.requests.length;

    engine.memory.breakers.apply();
    const during = await consult('A or B? (under pressure)');
    assert.notEqual(statusOf(during, 'local'), 'ok', 'an isolated expert does not answer');
    assert.equal(mock.requests.length, before, 'nothing reached the provider while isolated');
    assert.ok(during.experts.some((e) => e.status !== 'error' && e.name !== 'local'), 'the built-in experts still take part');

    engine.memory.breakers.undo();
    assert.equal(statusOf(await consult('A or B? (after)'), 'local'), 'ok');
    assert.equal(mock.requests.length, before + 1);
  });

  it('lowers the probe concurrency ceiling under pressure and restores it', async () => {
    // 300 closed loopback ports: the scan opens as many connects at once as its ceiling allows.
    const peak = async (): Promise<number> => {
      const report = await engine.probes.scan({ targets: ['127.0.0.1'], ports: '40001-40300', concurrency: 400, fresh: true });
      assert.equal(report.summary.ports, 300);
      return report.engine!.peakConcurrency;
    };
    assert.ok((await peak()) > 4, 'the configured ceiling (16) lets more than 4 run at once');
    engine.memory.concurrency.apply('critical'); // default fraction at critical: 0.25 → 16 × 0.25 = 4
    assert.ok((await peak()) <= 4, 'under pressure the ceiling is a quarter');
    engine.memory.concurrency.undo();
    assert.ok((await peak()) > 4, 'restored after');
  });
});
