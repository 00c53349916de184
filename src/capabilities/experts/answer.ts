import { matchChoice } from './consensus.js';
import type { ExpertAnswer, Question, RankCandidate, Recommendation } from './types.js';

/** Limits on what an expert may send back. */
export const ANSWER_LIMITS = {
  answerChars: 2_000,
  rationaleChars: 8_000,
  recommendations: 50,
  recommendationChars: 1_000,
  ruleChars: 200,
  /** The reply text as a whole. */
  replyChars: 200_000,
} as const;

/** Context longer than this is cut (with a marker) before it goes into a prompt. */
export const MAX_PROMPT_CONTEXT_CHARS = 100_000;

export type ParseResult = { ok: true; answer: ExpertAnswer } | { ok: false; reason: string };

/** Takes the JSON object out of a model's reply: the whole text, a ```json fence, or the outermost braces. */
function extractJson(text: string): unknown {
  const trimmed = text.trim();
  const attempts: string[] = [trimmed];
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed);
  if (fence?.[1]) attempts.push(fence[1].trim());
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) attempts.push(trimmed.slice(first, last + 1));
  for (const a of attempts) {
    try {
      return JSON.parse(a);
    } catch {
      // next candidate
    }
  }
  throw new Error('the reply holds no JSON object');
}

/**
 * Validates a model's reply against the answer schema `{ answer, confidence, recommendations,
 * rationale }`; with choices, `answer` must match one of them (returned in its canonical spelling).
 */
export function parseAnswer(text: string, choices?: readonly string[] | null): ParseResult {
  if (text.length > ANSWER_LIMITS.replyChars) return { ok: false, reason: `the reply is longer than ${ANSWER_LIMITS.replyChars} characters` };
  let raw: unknown;
  try {
    raw = extractJson(text);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'the reply is not a JSON object' };
  const o = raw as Record<string, unknown>;
  if (typeof o.answer !== 'string' || o.answer.trim() === '') return { ok: false, reason: '"answer" must be a non-empty string' };
  if (o.answer.length > ANSWER_LIMITS.answerChars) return { ok: false, reason: `"answer" is longer than ${ANSWER_LIMITS.answerChars} characters` };
  let answer = o.answer.trim();
  if (choices && choices.length > 0) {
    const m = matchChoice(answer, choices);
    if (m === undefined) return { ok: false, reason: `"answer" must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}; got ${JSON.stringify(answer.slice(0, 80))}` };
    answer = m;
  }
  if (typeof o.confidence !== 'number' || !Number.isFinite(o.confidence) || o.confidence < 0 || o.confidence > 1) {
    return { ok: false, reason: '"confidence" must be a number from 0 to 1' };
  }
  if (!Array.isArray(o.recommendations)) return { ok: false, reason: '"recommendations" must be an array' };
  if (o.recommendations.length > ANSWER_LIMITS.recommendations) return { ok: false, reason: `"recommendations" has more than ${ANSWER_LIMITS.recommendations} items` };
  const recommendations: Recommendation[] = [];
  for (const [i, r] of o.recommendations.entries()) {
    if (typeof r === 'string') {
      if (r.length > ANSWER_LIMITS.recommendationChars) return { ok: false, reason: `recommendations[${i}] is longer than ${ANSWER_LIMITS.recommendationChars} characters` };
      if (r.trim()) recommendations.push({ text: r.trim() });
    } else if (r && typeof r === 'object' && typeof (r as Record<string, unknown>).text === 'string') {
      const rec = r as Record<string, unknown>;
      const t = (rec.text as string).trim();
      if (t.length > ANSWER_LIMITS.recommendationChars) return { ok: false, reason: `recommendations[${i}].text is longer than ${ANSWER_LIMITS.recommendationChars} characters` };
      const rule = typeof rec.rule === 'string' && rec.rule.trim() ? rec.rule.trim().slice(0, ANSWER_LIMITS.ruleChars) : undefined;
      if (t) recommendations.push(rule ? { text: t, rule } : { text: t });
    } else {
      return { ok: false, reason: `recommendations[${i}] must be a string or { "text": string }` };
    }
  }
  if (typeof o.rationale !== 'string') return { ok: false, reason: '"rationale" must be a string' };
  const rationale = o.rationale.length > ANSWER_LIMITS.rationaleChars ? o.rationale.slice(0, ANSWER_LIMITS.rationaleChars) : o.rationale;
  return { ok: true, answer: { answer, confidence: o.confidence, recommendations, rationale } };
}

export interface PromptMessages {
  system: string;
  user: string;
}

function renderContext(context: unknown): string | null {
  if (context === undefined || context === null) return null;
  let text: string;
  if (typeof context === 'string') text = context;
  else {
    try {
      text = JSON.stringify(context, null, 2) ?? String(context);
    } catch {
      text = String(context);
    }
  }
  if (text.length > MAX_PROMPT_CONTEXT_CHARS) text = `${text.slice(0, MAX_PROMPT_CONTEXT_CHARS)}\n[... context cut at ${MAX_PROMPT_CONTEXT_CHARS} characters]`;
  return text;
}

/** The prompt asking one expert for the answer schema. */
export function answerPrompt(q: Question, expertName: string): PromptMessages {
  const choices = q.choices && q.choices.length > 0 ? q.choices : null;
  const review = q.kind === 'review';
  const system = [
    `You are "${expertName}", one expert on a panel${review ? ' reviewing a deployment' : ''}. Other experts answer the same question independently.`,
    'Reply with ONLY one JSON object, no prose and no code fence, of exactly this shape:',
    '{"answer": string, "confidence": number from 0 to 1, "recommendations": [string, ...], "rationale": string}',
    choices ? `"answer" must be exactly one of: ${choices.map((c) => JSON.stringify(c)).join(', ')}.` : '"answer" is a short, direct answer.',
    '"confidence" is your probability that your answer is right. "recommendations" are short, concrete actions (may be empty). "rationale" says briefly why.',
  ].join('\n');
  const parts = [`Question: ${q.question}`];
  if (choices) parts.push(`Choices: ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
  const ctx = renderContext(q.context);
  if (ctx !== null) parts.push(`Context:\n${ctx}`);
  return { system, user: parts.join('\n\n') };
}

/** The follow-up sent once after an invalid reply. */
export function repairPrompt(reason: string): string {
  return `Your reply was not valid: ${reason}. Reply again with ONLY the JSON object of the shape asked for.`;
}

/** The prompt of the peer-ranking round: anonymous candidates, best first. */
export function rankPrompt(q: Question, candidates: readonly RankCandidate[]): PromptMessages {
  const system = [
    'You review other experts\' answers to a question. They are labelled anonymously.',
    'Rank them from best to worst on correctness and usefulness.',
    'Reply with ONLY one JSON object: {"ranking": [label, ...]} listing every label exactly once, best first.',
  ].join('\n');
  const lines = [`Question: ${q.question}`];
  if (q.choices && q.choices.length > 0) lines.push(`Choices: ${q.choices.map((c) => JSON.stringify(c)).join(', ')}`);
  for (const c of candidates) {
    const recs = c.answer.recommendations.map((r) => `  - ${r.text}`).join('\n');
    lines.push(`Candidate ${c.label}:\nanswer: ${c.answer.answer}\nconfidence: ${c.answer.confidence}\nrationale: ${c.answer.rationale}${recs ? `\nrecommendations:\n${recs}` : ''}`);
  }
  return { system, user: lines.join('\n\n') };
}

/** Validates a ranking reply: every label exactly once. */
export function parseRanking(text: string, labels: readonly string[]): { ok: true; order: string[] } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = extractJson(text);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const ranking = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).ranking : undefined;
  if (!Array.isArray(ranking) || !ranking.every((x) => typeof x === 'string')) return { ok: false, reason: '"ranking" must be an array of labels' };
  const order = (ranking as string[]).map((s) => s.trim().toUpperCase());
  const want = new Set(labels);
  if (order.length !== labels.length || new Set(order).size !== order.length || !order.every((l) => want.has(l))) {
    return { ok: false, reason: `"ranking" must list each of ${labels.join(', ')} exactly once` };
  }
  return { ok: true, order };
}
