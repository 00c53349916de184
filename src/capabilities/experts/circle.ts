import { bordaCount, computeConsensus, voteKey } from './consensus.js';
import type { ConsensusInput } from './consensus.js';
import { ExpertsError, describeError } from './errors.js';
import { seededRandom, shuffled } from './random.js';
import type { Cause, Consensus, Expert, ExpertOutcome, ExpertReport, ExpertStatus, PeerRank, Question, RankCandidate, Usage } from './types.js';

/** How a circle gathers answers. */
export interface CircleOptions {
  /** Experts asked at once (default 8). */
  concurrency?: number;
  /** One expert's time to answer (default 30 s). */
  expertTimeoutMs?: number;
  /** The whole consultation's time, peer ranking included (default 60 s). */
  deadlineMs?: number;
  /** Valid answers wanted (default 3; capped at the experts that do not abstain). */
  minResponses?: number;
  /** Return once enough experts answered and the rest cannot change the winning answer (default true). */
  earlyReturn?: boolean;
  /** Run the peer-ranking round among LLM experts (default false). */
  peerRanking?: boolean;
  /** Recommendation grouping threshold (see consensus.ts). */
  similarity?: number;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  /** Called once per expert when its report is final (metrics hook). */
  onReport?: (report: ExpertReport) => void;
}

export interface CircleRun {
  /** Seed of every shuffle: the consultation's content hash. */
  seed: string;
  signal?: AbortSignal;
}

export interface CircleOutcome extends Consensus {
  experts: ExpertReport[];
  degraded: boolean;
  causes: Cause[];
  requested: number;
  responded: number;
  quorum: boolean;
  ranking: PeerRank[] | null;
  durationMs: number;
  /** Why the circle stopped gathering. */
  stoppedBy: 'all-answered' | 'decided' | 'deadline';
}

type SlotOutcome = ExpertOutcome | { status: 'timeout'; reason: string } | { status: 'skipped'; reason: string };

interface Slot {
  expert: Expert;
  weight: number;
  startedAt: number;
  endedAt: number;
  controller: AbortController | null;
  outcome: SlotOutcome | null;
}

export const CIRCLE_DEFAULTS = {
  concurrency: 8,
  expertTimeoutMs: 30_000,
  deadlineMs: 60_000,
  minResponses: 3,
  earlyReturn: true,
  peerRanking: false,
} as const;

/** At most this many experts in one consultation. */
export const MAX_EXPERTS = 32;

function cost(usage: Usage | undefined, pricing: Expert['pricing']): number | null {
  if (!usage || !pricing) return null;
  return (usage.inputTokens * pricing.inputPerMTok + usage.outputTokens * pricing.outputPerMTok) / 1e6;
}

/**
 * Asks every expert, `concurrency` at a time, each under its own timeout and all under one deadline,
 * and returns the consensus. Returns early once `minResponses` experts answered and the experts still
 * out, even all agreeing at full confidence, could not change the winning answer. Rejects with
 * EXPERTS_CANCELLED when `signal` aborts; every expert still asking is aborted then too.
 */
export function runCircle(experts: readonly Expert[], q: Question, options: CircleOptions & CircleRun): Promise<CircleOutcome> {
  if (experts.length === 0) return Promise.reject(new ExpertsError('EXPERTS_NO_EXPERTS', 'no experts to ask'));
  if (experts.length > MAX_EXPERTS) return Promise.reject(new ExpertsError('EXPERTS_INVALID_REQUEST', `at most ${MAX_EXPERTS} experts per consultation`, { limit: MAX_EXPERTS }));
  const now = options.now ?? (() => performance.now());
  const concurrency = Math.max(1, options.concurrency ?? CIRCLE_DEFAULTS.concurrency);
  const expertTimeoutMs = options.expertTimeoutMs ?? CIRCLE_DEFAULTS.expertTimeoutMs;
  const deadlineMs = options.deadlineMs ?? CIRCLE_DEFAULTS.deadlineMs;
  const minResponses = Math.max(1, options.minResponses ?? CIRCLE_DEFAULTS.minResponses);
  const earlyReturn = options.earlyReturn ?? CIRCLE_DEFAULTS.earlyReturn;
  const choices = q.choices && q.choices.length > 0 ? q.choices : null;
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new ExpertsError('EXPERTS_CANCELLED', 'the consultation was cancelled'));

  const t0 = now();
  const deadlineAt = t0 + deadlineMs;
  const n = experts.length;
  const slots: Slot[] = experts.map((expert) => ({ expert, weight: expert.weight ?? 1, startedAt: 0, endedAt: 0, controller: null, outcome: null }));
  let remainingWeight = slots.reduce((a, s) => a + s.weight, 0);
  const tally = new Map<string, number>();
  let settled = 0;
  let running = 0;
  let nextIndex = 0;
  let ok = 0;
  let abstained = 0;
  let finished = false;

  return new Promise<CircleOutcome>((resolve, reject) => {
    const deadlineTimer = setTimeout(() => stop('deadline'), deadlineMs);
    const onAbort = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadlineTimer);
      for (const s of slots) s.controller?.abort(new ExpertsError('EXPERTS_CANCELLED', 'the consultation was cancelled'));
      reject(new ExpertsError('EXPERTS_CANCELLED', 'the consultation was cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const launch = (): void => {
      while (!finished && running < concurrency && nextIndex < n) start(slots[nextIndex++]!);
    };

    const start = (slot: Slot): void => {
      const controller = new AbortController();
      slot.controller = controller;
      slot.startedAt = now();
      running++;
      const timer = setTimeout(() => {
        complete(slot, { status: 'timeout', reason: `no answer within ${expertTimeoutMs} ms` });
        controller.abort(new ExpertsError('EXPERTS_CANCELLED', 'expert timed out'));
      }, expertTimeoutMs);
      let p: Promise<ExpertOutcome>;
      try {
        p = slot.expert.ask(q, { signal: controller.signal });
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (outcome) => {
          clearTimeout(timer);
          complete(slot, outcome);
        },
        (err) => {
          clearTimeout(timer);
          const d = describeError(err);
          complete(slot, { status: 'error', reason: d.reason, ...(d.code ? { code: d.code } : {}) });
        },
      );
    };

    const complete = (slot: Slot, outcome: SlotOutcome): void => {
      if (finished || slot.outcome) return;
      slot.outcome = outcome;
      slot.endedAt = now();
      running--;
      settled++;
      remainingWeight -= slot.weight;
      if (outcome.status === 'ok') {
        ok++;
        if (earlyReturn) {
          const key = voteKey(outcome.answer.answer, choices);
          tally.set(key, (tally.get(key) ?? 0) + slot.weight * Math.min(1, Math.max(0, outcome.answer.confidence)));
        }
      } else if (outcome.status === 'abstain') abstained++;
      if (settled === n) stop('all-answered');
      else if (earlyReturn && decided()) stop('decided');
      else launch();
    };

    const decided = (): boolean => {
      if (ok < Math.min(minResponses, n - abstained)) return false;
      let first = 0;
      let second = 0;
      for (const w of tally.values()) {
        if (w > first) {
          second = first;
          first = w;
        } else if (w > second) second = w;
      }
      // Strictly more than everything still out could add to the runner-up (or to a new answer).
      return first - second > remainingWeight + 1e-9;
    };

    const stop = (why: CircleOutcome['stoppedBy']): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadlineTimer);
      signal?.removeEventListener('abort', onAbort);
      const t = now();
      for (const s of slots) {
        if (s.outcome) continue;
        if (why === 'deadline') {
          s.outcome = { status: 'timeout', reason: s.controller ? `the overall deadline of ${deadlineMs} ms passed before it answered` : `not asked before the overall deadline of ${deadlineMs} ms` };
        } else {
          s.outcome = { status: 'skipped', reason: 'the outcome was decided before it answered' };
        }
        s.endedAt = s.controller ? t : s.startedAt;
        s.controller?.abort(new ExpertsError('EXPERTS_CANCELLED', why === 'deadline' ? 'deadline passed' : 'outcome decided'));
      }
      const inputs: ConsensusInput[] = [];
      for (const s of slots) if (s.outcome?.status === 'ok') inputs.push({ name: s.expert.name, answer: s.outcome.answer, weight: s.weight });
      let consensus: Consensus;
      try {
        consensus = computeConsensus(inputs, { choices, ...(options.similarity !== undefined ? { similarity: options.similarity } : {}) });
      } catch (err) {
        reject(err);
        return;
      }
      if ((options.peerRanking ?? CIRCLE_DEFAULTS.peerRanking) && !signal?.aborted) {
        peerRank(slots, q, { seed: options.seed, concurrency, expertTimeoutMs, deadlineAt, now, ...(signal ? { signal } : {}) }).then((ranking) => {
          if (signal?.aborted) reject(new ExpertsError('EXPERTS_CANCELLED', 'the consultation was cancelled'));
          else resolve(outcomeOf(why, consensus, ranking));
        }, reject);
      } else {
        // Synchronously: no extra turn of the event loop between the last answer and the result.
        resolve(outcomeOf(why, consensus, null));
      }
    };

    const outcomeOf = (why: CircleOutcome['stoppedBy'], consensus: Consensus, ranking: PeerRank[] | null): CircleOutcome => {
      const reports = slots.map((s) => report(s));
      const causes: Cause[] = [];
      for (const r of reports) {
        if (r.status === 'error' || r.status === 'timeout') causes.push({ expert: r.name, kind: r.status, reason: r.error ?? r.status });
      }
      const need = Math.min(minResponses, n - abstained);
      const quorum = ok >= need;
      if (!quorum) causes.push({ kind: 'below-quorum', reason: `${ok} of the ${need} answers wanted` });
      for (const r of reports) options.onReport?.(r);
      return {
        ...consensus,
        experts: reports,
        degraded: causes.length > 0,
        causes,
        requested: n,
        responded: ok,
        quorum,
        ranking,
        durationMs: Math.round((now() - t0) * 1000) / 1000,
        stoppedBy: why,
      };
    };

    launch();
  });
}

function report(s: Slot): ExpertReport {
  const o = s.outcome!;
  const base = {
    name: s.expert.name,
    kind: s.expert.kind,
    status: o.status as ExpertStatus,
    latencyMs: Math.round(Math.max(0, s.endedAt - s.startedAt) * 1000) / 1000,
    attempts: 'attempts' in o && typeof o.attempts === 'number' ? o.attempts : s.controller ? 1 : 0,
  };
  const usage = 'usage' in o ? o.usage : undefined;
  if (o.status === 'ok') {
    return {
      ...base,
      answer: o.answer.answer,
      confidence: o.answer.confidence,
      error: null,
      recommendations: o.answer.recommendations,
      rationale: o.answer.rationale,
      tokens: usage ?? null,
      costUsd: cost(usage, s.expert.pricing),
    };
  }
  return { ...base, answer: null, confidence: null, error: o.reason, recommendations: [], rationale: null, tokens: usage ?? null, costUsd: cost(usage, s.expert.pricing) };
}

const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * The peer-ranking round: every LLM expert that answered ranks the others' answers (its own left
 * out), shown under anonymous labels in an order shuffled per reviewer from the seed; Borda count.
 * A reviewer that fails or times out casts no ballot.
 */
async function peerRank(
  slots: readonly Slot[],
  q: Question,
  o: { seed: string; concurrency: number; expertTimeoutMs: number; deadlineAt: number; now: () => number; signal?: AbortSignal },
): Promise<PeerRank[] | null> {
  const answered = slots.filter((s) => s.outcome?.status === 'ok');
  const reviewers = answered.filter((s) => s.expert.kind === 'llm' && typeof s.expert.rank === 'function');
  if (answered.length < 3 || reviewers.length === 0) return null;
  const ballots: Array<{ reviewer: string; order: string[] }> = [];
  const queue = reviewers.slice();
  const worker = async (): Promise<void> => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const left = o.deadlineAt - o.now();
      if (left <= 0 || o.signal?.aborted) return;
      const others = answered.filter((s) => s !== r).sort((a, b) => (a.expert.name < b.expert.name ? -1 : 1));
      const order = shuffled(others, seededRandom(`${o.seed}:rank:${r.expert.name}`)).slice(0, LABELS.length);
      const candidates: RankCandidate[] = order.map((s, i) => ({ label: LABELS[i]!, answer: (s.outcome as Extract<ExpertOutcome, { status: 'ok' }>).answer }));
      const byLabel = new Map(order.map((s, i) => [LABELS[i]!, s.expert.name]));
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => controller.abort(), Math.min(o.expertTimeoutMs, left));
      try {
        const res = await Promise.race([
          r.expert.rank!(q, candidates, { signal: controller.signal }),
          new Promise<never>((_, rej) => controller.signal.addEventListener('abort', () => rej(new Error('ranking timed out')), { once: true })),
        ]);
        ballots.push({ reviewer: r.expert.name, order: res.order.map((l) => byLabel.get(l)!).filter(Boolean) });
      } catch {
        // no ballot from this reviewer
      } finally {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, reviewers.length) }, worker));
  ballots.sort((a, b) => (a.reviewer < b.reviewer ? -1 : 1));
  return bordaCount(ballots, answered.map((s) => s.expert.name).sort());
}
