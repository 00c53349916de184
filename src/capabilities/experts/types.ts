/**
 * The experts capability's own types: a question, what one expert says about it, and what the circle
 * makes of all of them. Plain data, JSON-serialisable, so results go to the store, the cache and the
 * API unchanged.
 */

/** What is asked. `kind: 'review'` means `context` is a deployment review (see builtin/input.ts). */
export interface Question {
  kind?: 'question' | 'review';
  question: string;
  /** When given, every answer must be one of these (matched case-insensitively, returned canonical). */
  choices?: readonly string[];
  /** Text or JSON handed to every expert. */
  context?: unknown;
}

/** One recommendation; built-in experts always name the rule behind it. */
export interface Recommendation {
  text: string;
  rule?: string;
}

/** The one schema every expert answers in: `{ answer, confidence, recommendations, rationale }`. */
export interface ExpertAnswer {
  answer: string;
  /** 0..1 */
  confidence: number;
  recommendations: Recommendation[];
  rationale: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What asking one expert produced. An expert that cannot answer says so; nothing is invented. */
export type ExpertOutcome =
  | { status: 'ok'; answer: ExpertAnswer; usage?: Usage; attempts?: number }
  | { status: 'abstain'; reason: string }
  | { status: 'error'; reason: string; code?: string; usage?: Usage; attempts?: number };

export interface AskContext {
  /** Aborted on the expert's timeout, the overall deadline, an early return or a cancellation. */
  signal: AbortSignal;
}

/** A candidate shown to a reviewer in the peer-ranking round, under an anonymous label. */
export interface RankCandidate {
  label: string;
  answer: ExpertAnswer;
}

export interface Expert {
  readonly name: string;
  readonly kind: 'llm' | 'builtin';
  /** Identity in the cache key: changes when what answers changes (provider kind, URL, model, version). */
  readonly fingerprint: string;
  /** Vote weight multiplier; 1 by default. */
  readonly weight?: number;
  /** USD per million tokens, for the estimated cost (LLM experts with known prices). */
  readonly pricing?: { inputPerMTok: number; outputPerMTok: number };
  ask(question: Question, ctx: AskContext): Promise<ExpertOutcome>;
  /**
   * Peer ranking: orders the candidates' labels best first. Only LLM experts implement it.
   * Resolves to the labels, or rejects when the reviewer cannot rank.
   */
  rank?(question: Question, candidates: readonly RankCandidate[], ctx: AskContext): Promise<{ order: string[]; usage?: Usage }>;
}

/**
 * Status of one expert in a result. `skipped`: the circle returned early because the outcome was
 * decided before this expert answered; it does not degrade the result.
 */
export type ExpertStatus = 'ok' | 'error' | 'timeout' | 'abstain' | 'skipped';

export interface ExpertReport {
  name: string;
  kind: 'llm' | 'builtin';
  status: ExpertStatus;
  answer: string | null;
  confidence: number | null;
  latencyMs: number;
  /** Why the expert gave no answer (error, timeout, abstain, skipped); null when it answered. */
  error: string | null;
  recommendations: Recommendation[];
  rationale: string | null;
  tokens: Usage | null;
  costUsd: number | null;
  attempts: number;
}

export interface Vote {
  answer: string;
  /** Sum of (expert weight × confidence). */
  weight: number;
  share: number;
  count: number;
  experts: string[];
}

export interface RecommendationGroup {
  text: string;
  supporters: string[];
  /** supporters ÷ experts that answered. */
  share: number;
  /** More than half of the experts that answered support it. */
  majority: boolean;
  rules: string[];
}

export interface Dissent {
  experts: Array<{ name: string; answer: string; confidence: number }>;
  recommendations: Array<{ text: string; supporters: string[]; share: number }>;
}

export interface Cause {
  expert?: string;
  kind: 'error' | 'timeout' | 'below-quorum';
  reason: string;
}

export interface PeerRank {
  name: string;
  points: number;
  ballots: number;
}

/** The consensus over the answers (pure function of them; see consensus.ts). */
export interface Consensus {
  answer: string | null;
  agreement: number;
  entropy: number;
  votes: Vote[];
  recommendations: RecommendationGroup[];
  dissent: Dissent;
}

/** The JSON result of a consultation. */
export interface ConsultationResult extends Consensus {
  id: string;
  kind: 'question' | 'review';
  question: string;
  choices: string[] | null;
  experts: ExpertReport[];
  degraded: boolean;
  causes: Cause[];
  /** Experts asked. */
  requested: number;
  /** Experts that gave a valid answer. */
  responded: number;
  /** responded ≥ the minimum responses the circle asked for (capped at the experts that did not abstain). */
  quorum: boolean;
  /** Peer ranking (Borda count), when that round ran. */
  ranking: PeerRank[] | null;
  durationMs: number;
  /** Content hash of question, choices, context and expert set: the cache key. */
  hash: string;
  cached: boolean;
  createdAt: number;
}
