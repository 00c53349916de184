// `npm run bench -- experts [--rounds N] [--consultations N]`
//
// 1. Consensus computations per second for 5 experts × 10 recommendations each (vote, entropy,
//    lemmatised grouping, dissent), against the vote alone (`limit:vote-only`, the same function with
//    no recommendations): the price of grouping. The seed claimed 698/s for "a simulated retry loop".
// 2. The circle's overhead beyond the slowest expert: experts answer after 2–8 ms timers and note the
//    instant they resolve; overhead = when the circle's result is in hand − the last expert's resolve.
//    Against a bare `Promise.all` over the same experts followed by the same consensus (the limit).
//    Alternated consultation by consultation. Target: P99 under 2 ms.
// 3. The same over real HTTP: 5 LLM experts (three protocols, streaming) against the mock provider
//    server in this process; overhead = the circle's duration − its slowest expert's latency.
import { Agent } from 'undici';
import { runCircle } from '../src/capabilities/experts/circle.js';
import { computeConsensus } from '../src/capabilities/experts/consensus.js';
import type { ConsensusInput } from '../src/capabilities/experts/consensus.js';
import { LlmExpert } from '../src/capabilities/experts/llm-expert.js';
import { createProvider } from '../src/capabilities/experts/providers/index.js';
import { undiciTransport } from '../test/helpers/undici-transport.js';
import { seededRandom } from '../src/capabilities/experts/random.js';
import type { AskContext, Expert, ExpertAnswer, ExpertOutcome, Question } from '../src/capabilities/experts/types.js';
import { MockProviderServer, answerJson } from '../test/helpers/mock-providers.js';
import { emit, median, numberArg, round } from './_lib.js';

const ROUNDS = numberArg('--rounds', 7);
const CONSULTATIONS = numberArg('--consultations', 600);

// --- realistic answers: 10 recommendations per expert, drawn from themes with varied wording
const THEMES = [
  ['Add a health check to the {s} service', 'Add health checks for {s}', 'Give {s} a readiness probe and a health check'],
  ['Run at least two replicas of {s}', 'Scale {s} to 2 or more replicas', 'Add a second replica for {s}'],
  ['Set CPU and memory limits on {s}', 'Limit the memory and CPU of {s}', 'Define resource limits for {s}'],
  ['Move the database password of {s} into a secret store', 'Store the {s} database password in a vault', 'Do not keep passwords for {s} in the spec'],
  ['Pin the image of {s} to a version tag', 'Use a versioned image tag for {s} instead of latest', 'Pin {s} to an image digest'],
  ['Serve {s} over TLS', 'Enable TLS on the public port of {s}', 'Terminate TLS in front of {s}'],
  ['Close the telnet port on {s}', 'Disable telnet on {s} and use SSH', 'Remove port 23 from {s}'],
  ['Add a canary stage before rolling out {s}', 'Roll {s} out as a canary first', 'Use a canary deployment for {s}'],
  ['Lower the log level of {s} to info', 'Reduce debug logging in {s}', 'Turn off debug logs for {s} in production'],
  ['Add an index on the users email column for {s}', 'Index users.email used by {s}', 'Create an index on email lookups in {s}'],
  ['Set a connection pool size for {s}', 'Pool the database connections of {s}', 'Bound the connection pool of {s}'],
  ['Alert on the error rate of {s}', 'Add an error-rate alert for {s}', 'Page when {s} errors exceed 1%'],
];
const SERVICES = ['api', 'web', 'worker', 'billing', 'search'];

function answers(seed: string): ConsensusInput[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return ['security', 'reliability', 'performance', 'cost', 'gpt'].map((name) => {
    const recs = Array.from({ length: 10 }, () => ({ text: pick(pick(THEMES)).replace('{s}', pick(SERVICES)) }));
    const answer: ExpertAnswer = { answer: random() < 0.7 ? 'changes-requested' : 'approve', confidence: 0.5 + random() / 2, recommendations: recs, rationale: 'measured' };
    return { name, answer };
  });
}

const CHOICES = ['approve', 'changes-requested'];
const SETS = Array.from({ length: 256 }, (_, i) => answers(`set-${i}`));
const VOTE_ONLY = SETS.map((set) => set.map((i) => ({ ...i, answer: { ...i.answer, recommendations: [] } })));

let sink = 0;
function consensusLoop(sets: ConsensusInput[][], n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += computeConsensus(sets[i & 255]!, { choices: CHOICES }).recommendations.length;
  return n / ((performance.now() - t0) / 1000);
}

// warm-up, then alternate
consensusLoop(SETS, 2_000);
consensusLoop(VOTE_ONLY, 20_000);
const ours: number[] = [];
const voteOnly: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(consensusLoop(SETS, 3_000));
  voteOnly.push(consensusLoop(VOTE_ONLY, 30_000));
}
const oursOps = median(ours);
const voteOps = median(voteOnly);
emit({ bench: 'experts.consensus', experts: 5, recommendations_per_expert: 10, ours_ops: round(oursOps, 0), peer: 'limit:vote-only', peer_ops: round(voteOps, 0), ratio: round(oursOps / voteOps, 4), seed_claim_ops: 698 });

// --- circle overhead, in process
class TimerExpert implements Expert {
  readonly kind = 'llm' as const;
  readonly fingerprint: string;
  lastEnd = 0;
  constructor(
    readonly name: string,
    private readonly answer: ExpertAnswer,
    private readonly delay: () => number,
  ) {
    this.fingerprint = `timer:${name}`;
  }
  ask(_q: Question, ctx: AskContext): Promise<ExpertOutcome> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(t);
        reject(new Error('aborted'));
      };
      const t = setTimeout(() => {
        this.lastEnd = performance.now();
        ctx.signal.removeEventListener('abort', onAbort);
        resolve({ status: 'ok', answer: this.answer });
      }, this.delay());
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

const delayRandom = seededRandom('delays');
const set0 = SETS[0]!;
const experts = set0.map((i) => new TimerExpert(i.name, i.answer, () => 2 + Math.floor(delayRandom() * 7)));
const q: Question = { kind: 'review', question: 'Ship it?', choices: CHOICES };
const never = new AbortController().signal;

const oursOverhead: number[] = [];
const limitOverhead: number[] = [];
const slowest = (): number => Math.max(...experts.map((e) => e.lastEnd));
for (let i = 0; i < 50; i++) await runCircle(experts, q, { seed: 'warm', earlyReturn: false, minResponses: 5 });
for (let i = 0; i < CONSULTATIONS; i++) {
  await runCircle(experts, q, { seed: `s${i}`, earlyReturn: false, minResponses: 5 });
  oursOverhead.push(performance.now() - slowest());
  const outcomes = await Promise.all(experts.map((e) => e.ask(q, { signal: never })));
  const inputs = outcomes.map((o, k) => ({ name: experts[k]!.name, answer: (o as Extract<ExpertOutcome, { status: 'ok' }>).answer }));
  sink += computeConsensus(inputs, { choices: CHOICES }).votes.length;
  limitOverhead.push(performance.now() - slowest());
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
emit({
  bench: 'experts.circle.overhead',
  consultations: CONSULTATIONS,
  experts: 5,
  expert_delay_ms: '2-8',
  p50_ms: round(pct(oursOverhead, 50), 3),
  p99_ms: round(pct(oursOverhead, 99), 3),
  peer: 'limit:Promise.all+consensus',
  peer_p50_ms: round(pct(limitOverhead, 50), 3),
  peer_p99_ms: round(pct(limitOverhead, 99), 3),
  target_p99_ms: 2,
});

// --- over real HTTP
const mock = await MockProviderServer.start();
const agent = new Agent({ connections: 16 });
const recs = set0[4]!.answer.recommendations.map((r) => r.text);
mock.scriptDefault(() => ({ kind: 'answer', content: answerJson({ answer: 'approve', confidence: 0.8, recommendations: recs }) }));
const kinds = ['openai', 'anthropic', 'ollama', 'openai', 'anthropic'] as const;
const llms = kinds.map((kind, i) => new LlmExpert(createProvider({ name: `llm${i}`, kind, baseUrl: kind === 'openai' ? `${mock.url}/v1` : mock.url, model: `m${i}` }, { transport: undiciTransport({ dispatcher: agent }), env: {} })));
const httpOverhead: number[] = [];
const httpSlowest: number[] = [];
const n = CONSULTATIONS;
for (let i = 0; i < 30; i++) await runCircle(llms, q, { seed: 'warm', earlyReturn: false, minResponses: 5 });
for (let i = 0; i < n; i++) {
  const out = await runCircle(llms, q, { seed: `h${i}`, earlyReturn: false, minResponses: 5 });
  const slow = Math.max(...out.experts.map((e) => e.latencyMs));
  httpSlowest.push(slow);
  httpOverhead.push(out.durationMs - slow);
}
emit({ bench: 'experts.circle.http_overhead', consultations: n, experts: 5, slowest_expert_p50_ms: round(pct(httpSlowest, 50), 3), p50_ms: round(pct(httpOverhead, 50), 3), p99_ms: round(pct(httpOverhead, 99), 3), target_p99_ms: 2 });
await agent.close();
await mock.close();
if (sink === -1) console.log(sink);
