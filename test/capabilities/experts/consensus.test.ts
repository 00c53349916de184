import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bordaCount, computeConsensus, matchChoice } from '../../../src/capabilities/experts/consensus.js';
import type { ConsensusInput } from '../../../src/capabilities/experts/consensus.js';
import { jaccard, lemmaSet } from '../../../src/capabilities/experts/text.js';
import { seededRandom, shuffled } from '../../../src/capabilities/experts/random.js';

const a = (name: string, answer: string, confidence: number, recs: string[] = [], weight?: number): ConsensusInput => ({
  name,
  answer: { answer, confidence, recommendations: recs.map((text) => ({ text })), rationale: '' },
  ...(weight !== undefined ? { weight } : {}),
});

describe('consensus: the vote', () => {
  it('weights votes by confidence: two unsure experts lose to one sure one... unless they outweigh it', () => {
    const c1 = computeConsensus([a('x', 'A', 0.9), a('y', 'B', 0.4), a('z', 'B', 0.4)], { choices: ['A', 'B'] });
    assert.equal(c1.answer, 'A');
    assert.equal(c1.agreement, 0.529412); // 0.9 / 1.7
    const c2 = computeConsensus([a('x', 'A', 0.7), a('y', 'B', 0.4), a('z', 'B', 0.4)], { choices: ['A', 'B'] });
    assert.equal(c2.answer, 'B');
    assert.equal(c2.agreement, Math.round((0.8 / 1.5) * 1e6) / 1e6);
    assert.deepEqual(c2.votes.map((v) => [v.answer, v.count, v.experts]), [
      ['B', 2, ['y', 'z']],
      ['A', 1, ['x']],
    ]);
  });

  it('applies the expert weight', () => {
    const c = computeConsensus([a('x', 'A', 0.5, [], 3), a('y', 'B', 0.9), a('z', 'B', 0.5)], { choices: ['A', 'B'] });
    assert.equal(c.answer, 'A');
  });

  it('measures normalised entropy: 0 when unanimous, 1 when evenly split over all choices', () => {
    assert.equal(computeConsensus([a('x', 'A', 0.8), a('y', 'A', 0.6)], { choices: ['A', 'B'] }).entropy, 0);
    assert.equal(computeConsensus([a('x', 'A', 0.5), a('y', 'B', 0.5)], { choices: ['A', 'B'] }).entropy, 1);
    const three = computeConsensus([a('x', 'A', 0.5), a('y', 'B', 0.5)], { choices: ['A', 'B', 'C', 'D'] }).entropy;
    assert.equal(three, 0.5, 'two of four choices evenly: ln2 / ln4');
  });

  it('breaks weight ties by count, then choice order, independent of input order', () => {
    const inputs = [a('p', 'B', 0.5), a('q', 'A', 0.5)];
    assert.equal(computeConsensus(inputs, { choices: ['A', 'B'] }).answer, 'A');
    assert.equal(computeConsensus(inputs.slice().reverse(), { choices: ['A', 'B'] }).answer, 'A');
    assert.equal(computeConsensus(inputs, { choices: ['B', 'A'] }).answer, 'B');
  });

  it('groups free-text answers with the same lemmas', () => {
    const c = computeConsensus([a('x', 'Use PostgreSQL.', 0.6), a('y', 'use postgresql', 0.7), a('z', 'MySQL', 0.9)]);
    assert.equal(c.answer, 'use postgresql', 'the most confident wording of the winning group');
    assert.equal(c.votes[0]!.count, 2);
    assert.deepEqual(c.dissent.experts, [{ name: 'z', answer: 'MySQL', confidence: 0.9 }]);
  });

  it('falls back to counts when every confidence is 0, and handles no answers', () => {
    const c = computeConsensus([a('x', 'A', 0), a('y', 'A', 0), a('z', 'B', 0)], { choices: ['A', 'B'] });
    assert.equal(c.answer, 'A');
    assert.equal(c.agreement, 0.666667);
    const none = computeConsensus([], { choices: ['A', 'B'] });
    assert.equal(none.answer, null);
    assert.equal(none.agreement, 0);
    assert.deepEqual(none.votes, []);
  });

  it('matches choices loosely but never invents one', () => {
    assert.equal(matchChoice(' Changes-Requested. ', ['approve', 'changes-requested']), 'changes-requested');
    assert.equal(matchChoice('"approve"', ['approve', 'changes-requested']), 'approve');
    assert.equal(matchChoice('approved', ['approve', 'changes-requested']), undefined);
  });
});

describe('consensus: recommendations and dissent', () => {
  const inputs = [
    a('sec', 'changes-requested', 0.9, ['Add a health check to the api service', 'Rotate the database password', 'Enable TLS on port 443']),
    a('rel', 'changes-requested', 0.8, ['Add health checks to the API service', 'Run at least two replicas of api']),
    a('perf', 'approve', 0.6, ['Adding a health check to the api service', 'Set memory limits on the worker']),
    a('cost', 'changes-requested', 0.7, ['Run 2 replicas of the api', 'Rotate database passwords']),
  ];
  const c = computeConsensus(inputs, { choices: ['approve', 'changes-requested'] });

  it('groups recommendations by lemmatised word-set overlap, with supporters, share and majority', () => {
    const health = c.recommendations[0]!;
    assert.deepEqual(health.supporters, ['perf', 'rel', 'sec']);
    assert.equal(health.share, 0.75);
    assert.equal(health.majority, true);
    const pw = c.recommendations.find((r) => r.supporters.includes('cost') && /password/i.test(r.text))!;
    assert.deepEqual(pw.supporters, ['cost', 'sec']);
    assert.equal(pw.majority, false, 'two of four is not more than half');
    const replicas = c.recommendations.find((r) => /replica/i.test(r.text))!;
    assert.deepEqual(replicas.supporters, ['cost', 'rel']);
    const tls = c.recommendations.find((r) => /TLS/.test(r.text))!;
    assert.deepEqual(tls.supporters, ['sec']);
    assert.equal(tls.share, 0.25);
    assert.equal(c.recommendations.length, 5);
  });

  it('lists dissenting experts and minority recommendations', () => {
    assert.equal(c.answer, 'changes-requested');
    assert.deepEqual(c.dissent.experts, [{ name: 'perf', answer: 'approve', confidence: 0.6 }]);
    assert.deepEqual(
      c.dissent.recommendations.map((r) => r.supporters.length),
      c.recommendations.filter((r) => !r.majority).map((r) => r.supporters.length),
    );
    assert.ok(c.dissent.recommendations.every((r) => r.share <= 0.5));
  });

  it('counts an expert once even when it repeats itself', () => {
    const r = computeConsensus([a('x', 'A', 1, ['Add a cache', 'Add caching']), a('y', 'A', 1, [])], { choices: ['A', 'B'] });
    assert.equal(r.recommendations.length, 1);
    assert.deepEqual(r.recommendations[0]!.supporters, ['x']);
    assert.equal(r.recommendations[0]!.majority, false);
  });

  it('is the same for the same answers in any order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            answer: fc.constantFrom('A', 'B', 'C'),
            confidence: fc.double({ min: 0, max: 1, noNaN: true }),
            recs: fc.array(fc.constantFrom('add a cache', 'add caching layer', 'use tls', 'enable TLS everywhere', 'scale out', 'two replicas'), { maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        fc.integer(),
        (rows, seed) => {
          const inputs = rows.map((r, i) => a(`e${i}`, r.answer, r.confidence, r.recs));
          const once = computeConsensus(inputs, { choices: ['A', 'B', 'C'] });
          const again = computeConsensus(shuffled(inputs, seededRandom(String(seed))), { choices: ['A', 'B', 'C'] });
          assert.deepEqual(again, once);
          assert.ok(once.agreement >= 0 && once.agreement <= 1);
          assert.ok(once.entropy >= 0 && once.entropy <= 1 + 1e-9);
          const shares = once.votes.reduce((s, v) => s + v.share, 0);
          assert.ok(Math.abs(shares - 1) < 1e-5, `vote shares sum to 1, got ${shares}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('lemmas', () => {
  it('reduces inflections and drops stop words', () => {
    assert.deepEqual(lemmaSet('Adding health checks to the services'), ['ad', 'check', 'health', 'servic']);
    assert.deepEqual(lemmaSet('add a health check to a service'), lemmaSet('Adding health checks to the services'));
    assert.equal(jaccard(lemmaSet('Set memory limits'), lemmaSet('limit the memory')), 2 / 3);
    assert.equal(jaccard([], []), 1);
  });
});

describe('peer ranking: Borda count', () => {
  it('gives m−1 points to the first of m, ignores a self-vote, sorts by points then name', () => {
    const r = bordaCount(
      [
        { reviewer: 'a', order: ['b', 'c'] },
        { reviewer: 'b', order: ['c', 'a'] },
        { reviewer: 'c', order: ['b', 'a'] },
        { reviewer: 'd', order: ['d', 'a'] },
      ],
      ['a', 'b', 'c', 'd'],
    );
    assert.deepEqual(r, [
      { name: 'b', points: 2, ballots: 2 },
      { name: 'c', points: 1, ballots: 2 },
      { name: 'a', points: 0, ballots: 3 },
      { name: 'd', points: 0, ballots: 0 },
    ]);
  });

  it('shuffles the same way for the same seed', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    assert.deepEqual(shuffled(items, seededRandom('s1')), shuffled(items, seededRandom('s1')));
    const distinct = new Set(Array.from({ length: 20 }, (_, i) => shuffled(items, seededRandom(`s${i}`)).join('')));
    assert.ok(distinct.size > 10, 'different seeds give different orders');
  });
});
