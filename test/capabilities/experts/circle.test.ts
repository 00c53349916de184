import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { runCircle } from '../../../src/capabilities/experts/circle.js';
import { LlmExpert } from '../../../src/capabilities/experts/llm-expert.js';
import { createProvider } from '../../../src/capabilities/experts/providers/index.js';
import { undiciTransport } from '../../helpers/undici-transport.js';
import type { ProviderKind } from '../../../src/capabilities/experts/providers/index.js';
import type { AskContext, Expert, ExpertOutcome, Question } from '../../../src/capabilities/experts/types.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';
import type { MockBehavior } from '../../helpers/mock-providers.js';

/** An in-process expert answering after `ms`, watching its signal like a real one. */
class TimedExpert implements Expert {
  readonly kind = 'llm' as const;
  readonly fingerprint: string;
  aborted = false;
  started = 0;
  constructor(
    readonly name: string,
    private readonly ms: number,
    private readonly outcome: ExpertOutcome | (() => ExpertOutcome),
    private readonly tracker?: { now: number; max: number },
  ) {
    this.fingerprint = `timed:${name}`;
  }
  ask(_q: Question, ctx: AskContext): Promise<ExpertOutcome> {
    this.started++;
    if (this.tracker) this.tracker.max = Math.max(this.tracker.max, ++this.tracker.now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.tracker) this.tracker.now--;
        resolve(typeof this.outcome === 'function' ? this.outcome() : this.outcome);
      }, this.ms);
      ctx.signal.addEventListener('abort', () => {
        this.aborted = true;
        if (this.tracker) this.tracker.now--;
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
  }
}

const ok = (answer: string, confidence = 0.8, recs: string[] = []): ExpertOutcome => ({ status: 'ok', answer: { answer, confidence, recommendations: recs.map((text) => ({ text })), rationale: 'r' } });
const q: Question = { question: 'A or B?', choices: ['A', 'B'] };

describe('circle: scheduling', () => {
  it('asks at most `concurrency` experts at once and gathers every answer', async () => {
    const tracker = { now: 0, max: 0 };
    const experts = Array.from({ length: 10 }, (_, i) => new TimedExpert(`e${i}`, 20, ok(i % 3 === 0 ? 'B' : 'A'), tracker));
    const out = await runCircle(experts, q, { seed: 's', concurrency: 3, earlyReturn: false });
    assert.equal(tracker.max, 3);
    assert.equal(out.responded, 10);
    assert.equal(out.answer, 'A');
    assert.equal(out.degraded, false);
    assert.equal(out.stoppedBy, 'all-answered');
  });

  it('times out a slow expert on its own, aborts it, and flags the degradation', async () => {
    const slow = new TimedExpert('slow', 5_000, ok('B'));
    const experts = [new TimedExpert('a', 5, ok('A')), new TimedExpert('b', 5, ok('A')), slow];
    const out = await runCircle(experts, q, { seed: 's', expertTimeoutMs: 400, minResponses: 2, earlyReturn: false });
    assert.ok(out.durationMs < 3_000);
    assert.equal(slow.aborted, true);
    const r = out.experts.find((e) => e.name === 'slow')!;
    assert.equal(r.status, 'timeout');
    assert.match(r.error!, /no answer within 400 ms/);
    assert.equal(out.degraded, true);
    assert.deepEqual(out.causes, [{ expert: 'slow', kind: 'timeout', reason: 'no answer within 400 ms' }]);
    assert.equal(out.quorum, true);
  });

  it('stops at the overall deadline: pending experts time out, unasked ones are listed', async () => {
    const experts = [new TimedExpert('a', 10, ok('A')), new TimedExpert('b', 5_000, ok('A')), new TimedExpert('c', 10, ok('A'))];
    const out = await runCircle(experts, q, { seed: 's', concurrency: 1, deadlineMs: 500, earlyReturn: false, minResponses: 1 });
    assert.equal(out.stoppedBy, 'deadline');
    assert.ok(out.durationMs >= 490 && out.durationMs < 3_000, `${out.durationMs}`);
    assert.deepEqual(
      out.experts.map((e) => [e.name, e.status]),
      [
        ['a', 'ok'],
        ['b', 'timeout'],
        ['c', 'timeout'],
      ],
    );
    assert.match(out.experts[2]!.error!, /not asked before the overall deadline/);
    assert.equal(out.experts[2]!.attempts, 0);
  });

  it('returns early once the rest cannot change the winner, and aborts them without degrading', async () => {
    const slow = [new TimedExpert('d', 3_000, ok('B', 1)), new TimedExpert('e', 3_000, ok('B', 1))];
    const experts = [new TimedExpert('a', 5, ok('A', 1)), new TimedExpert('b', 10, ok('A', 1)), new TimedExpert('c', 15, ok('A', 1)), ...slow];
    const out = await runCircle(experts, q, { seed: 's', minResponses: 3 });
    assert.equal(out.stoppedBy, 'decided');
    assert.ok(out.durationMs < 1_000);
    assert.equal(out.answer, 'A');
    assert.equal(out.degraded, false);
    assert.deepEqual(out.experts.slice(3).map((e) => e.status), ['skipped', 'skipped']);
    assert.ok(slow.every((s) => s.aborted));
  });

  it('keeps waiting while the rest could still change the winner', async () => {
    // 3 × 0.5 = 1.5 for A; two experts still out could add 2 to B.
    const experts = [new TimedExpert('a', 5, ok('A', 0.5)), new TimedExpert('b', 5, ok('A', 0.5)), new TimedExpert('c', 5, ok('A', 0.5)), new TimedExpert('d', 120, ok('B', 1)), new TimedExpert('e', 120, ok('B', 1))];
    const out = await runCircle(experts, q, { seed: 's', minResponses: 3 });
    assert.equal(out.stoppedBy, 'all-answered');
    assert.equal(out.answer, 'B', 'the late experts did change it');
    assert.deepEqual(out.dissent.experts.map((d) => d.name), ['a', 'b', 'c']);
  });

  it('does not return early before the minimum of answers', async () => {
    const experts = [new TimedExpert('a', 5, ok('A', 1)), new TimedExpert('b', 5, ok('A', 1)), new TimedExpert('c', 5, ok('A', 1)), new TimedExpert('d', 60, ok('A', 1)), new TimedExpert('e', 3_000, ok('B', 1))];
    const out = await runCircle(experts, q, { seed: 's', minResponses: 4 });
    assert.equal(out.stoppedBy, 'decided');
    assert.equal(out.responded, 4);
    assert.equal(out.experts[4]!.status, 'skipped');
  });

  it('is cancelled by its signal: rejects and aborts every expert still asking', async () => {
    const experts = [new TimedExpert('a', 5_000, ok('A')), new TimedExpert('b', 5_000, ok('A'))];
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(runCircle(experts, q, { seed: 's', signal: ac.signal }), { code: 'EXPERTS_CANCELLED' });
    assert.ok(experts.every((e) => e.aborted));
  });

  it('lists abstaining experts without degrading, and caps the quorum at the experts that could answer', async () => {
    const experts = [new TimedExpert('a', 5, ok('A')), new TimedExpert('x', 1, { status: 'abstain', reason: 'out of scope' }), new TimedExpert('y', 1, { status: 'abstain', reason: 'out of scope' })];
    const out = await runCircle(experts, q, { seed: 's', minResponses: 3 });
    assert.equal(out.degraded, false);
    assert.equal(out.quorum, true);
    assert.equal(out.responded, 1);
    assert.equal(out.requested, 3);
    assert.deepEqual(out.experts.map((e) => e.status), ['ok', 'abstain', 'abstain']);
    assert.equal(out.experts[1]!.error, 'out of scope');
  });

  it('flags a result below quorum, and survives experts that throw', async () => {
    const thrower: Expert = { name: 't', kind: 'llm', fingerprint: 't', ask: () => { throw new Error('kaput'); } };
    const experts = [new TimedExpert('a', 5, ok('A')), thrower, new TimedExpert('b', 5, { status: 'error', reason: 'HTTP 500' })];
    const out = await runCircle(experts, q, { seed: 's', minResponses: 2 });
    assert.equal(out.degraded, true);
    assert.equal(out.quorum, false);
    assert.deepEqual(out.causes.map((c) => c.kind), ['error', 'error', 'below-quorum']);
    assert.equal(out.experts[1]!.error, 'kaput');
  });
});

describe('circle over real HTTP providers', () => {
  let mock: MockProviderServer;
  let agent: Agent;
  before(async () => {
    mock = await MockProviderServer.start();
    agent = new Agent({ connections: 32 });
  });
  after(async () => {
    await agent.close();
    await mock.close();
  });

  function llm(name: string, kind: ProviderKind, stream: boolean, behavior: MockBehavior | ((n: number) => MockBehavior)): LlmExpert {
    const model = `${name}-model`;
    mock.script(model, (req) => (typeof behavior === 'function' ? behavior(req.n) : behavior));
    const provider = createProvider({ name, kind, baseUrl: kind === 'openai' ? `${mock.url}/v1` : mock.url, model, stream }, { transport: undiciTransport({ dispatcher: agent }), env: {} });
    return new LlmExpert(provider);
  }
  const good = (answer: string, confidence: number, recs: string[]): Extract<MockBehavior, { kind: 'answer' }> => ({ kind: 'answer', content: answerJson({ answer, confidence, recommendations: recs, rationale: `${answer} it is` }) });

  it('completes with the remaining experts when others are slow, rate-limited, cut or malformed, and says why', async () => {
    const experts = [
      llm('gpt', 'openai', true, good('B', 0.8, ['Add an index on users.email'])),
      llm('claude', 'anthropic', true, good('B', 0.7, ['Index users.email'])),
      llm('local', 'ollama', true, good('A', 0.6, ['Cache the lookups'])),
      llm('slow', 'openai', false, { ...good('A', 0.9, []), delayMs: 10_000 }),
      llm('limited', 'anthropic', false, { kind: 'status', status: 429, message: 'rate limited' }),
      llm('cut', 'ollama', true, { kind: 'cut', content: answerJson({ answer: 'A', confidence: 0.9 }), afterChunks: 1 }),
      llm('garbled', 'openai', true, { kind: 'malformed' }),
      llm('down', 'anthropic', false, { kind: 'status', status: 500, message: 'internal' }),
    ];
    const out = await runCircle(experts, { question: 'Which index plan?', choices: ['A', 'B'] }, { seed: 'x', expertTimeoutMs: 2_000, minResponses: 3, earlyReturn: false });
    assert.equal(out.answer, 'B');
    assert.equal(out.responded, 3);
    assert.equal(out.quorum, true);
    assert.equal(out.degraded, true);
    const byName = Object.fromEntries(out.experts.map((e) => [e.name, e]));
    assert.equal(byName.slow!.status, 'timeout');
    assert.equal(byName.limited!.status, 'error');
    assert.match(byName.limited!.error!, /429/);
    assert.equal(byName.cut!.status, 'error');
    assert.match(byName.cut!.error!, /stream ended|cut/);
    assert.equal(byName.garbled!.status, 'error');
    assert.match(byName.garbled!.error!, /not JSON/);
    assert.equal(byName.garbled!.attempts, 2, 'malformed: retried once');
    assert.equal(byName.down!.status, 'error');
    assert.deepEqual(out.causes.map((c) => c.expert).sort(), ['cut', 'down', 'garbled', 'limited', 'slow']);
    for (const e of out.experts) if (e.status !== 'ok') assert.equal(e.answer, null, 'no invented answer');
    const indexRec = out.recommendations.find((r) => /index/i.test(r.text))!;
    assert.deepEqual(indexRec.supporters, ['claude', 'gpt']);
    assert.equal(indexRec.majority, true, '2 of the 3 that answered');
    assert.ok(byName.gpt!.tokens!.inputTokens > 0);
  });

  it('runs the peer-ranking round: own answer excluded, order shuffled per reviewer from the seed, Borda count', async () => {
    const names = ['r1', 'r2', 'r3', 'r4'];
    const shown = new Map<string, string[]>();
    const experts = names.map((name, i) => {
      const model = `${name}-model`;
      mock.script(model, (req) => {
        if (/Rank them/.test(req.system)) {
          const labels = [...req.user.matchAll(/Candidate ([A-Z]):\nanswer: \w+\nconfidence: [\d.]+\nrationale: (\w+)/g)].map((m) => [m[1]!, m[2]!] as const);
          shown.set(name, labels.map((l) => l[1]));
          // Everyone prefers r1's answer, then r2's...: rank by the author named in the rationale.
          const order = labels.slice().sort((a, b) => (a[1] < b[1] ? -1 : 1)).map((l) => l[0]);
          return { kind: 'answer', content: JSON.stringify({ ranking: order }) };
        }
        return { kind: 'answer', content: answerJson({ answer: i < 3 ? 'A' : 'B', confidence: 0.5 + i / 10, rationale: name }) };
      });
      return new LlmExpert(createProvider({ name, kind: (['openai', 'anthropic', 'ollama'] as const)[i % 3]!, baseUrl: i % 3 === 0 ? `${mock.url}/v1` : mock.url, model }, { transport: undiciTransport({ dispatcher: agent }), env: {} }));
    });
    const run = () => runCircle(experts, q, { seed: 'seed-1', peerRanking: true, earlyReturn: false });
    const out = await run();
    for (const n of names) {
      assert.ok(!shown.get(n)!.includes(n), `${n} never sees its own answer`);
      assert.equal(shown.get(n)!.length, 3);
    }
    assert.deepEqual(out.ranking, [
      { name: 'r1', points: 6, ballots: 3 },
      { name: 'r2', points: 4, ballots: 3 },
      { name: 'r3', points: 2, ballots: 3 },
      { name: 'r4', points: 0, ballots: 3 },
    ]);
    const orders1 = new Map(shown);
    await run();
    assert.deepEqual(shown, orders1, 'the same seed shows the same orders');
    const shuffledSome = [...orders1.values()].some((o) => o.join() !== o.slice().sort().join());
    assert.ok(shuffledSome, 'candidates are not shown in name order');
  });
});
