import { LemmaInterner, answerKey, jaccardIds } from './text.js';
import type { Consensus, ExpertAnswer, PeerRank, RecommendationGroup, Vote } from './types.js';

/** One expert's valid answer, as the consensus sees it. */
export interface ConsensusInput {
  name: string;
  answer: ExpertAnswer;
  /** Vote weight multiplier (default 1); the vote counts weight × confidence. */
  weight?: number;
}

export interface ConsensusOptions {
  /** When given, answers are votes for these choices (the answers are matched to them). */
  choices?: readonly string[] | null;
  /** Two recommendations belong together when their lemma sets' Jaccard similarity (averaged over a group) is at least this. */
  similarity?: number;
  /** At most this many recommendations per expert are considered (default 50). */
  maxRecommendationsPerExpert?: number;
}

const DEFAULT_SIMILARITY = 0.5;

/** Matches `answer` to one of `choices`: exact, then case- and space-insensitive, then without surrounding quotes/punctuation. */
export function matchChoice(answer: string, choices: readonly string[]): string | undefined {
  if (choices.includes(answer)) return answer;
  const norm = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, ' ');
  const loose = (s: string): string => norm(s).replace(/^["'`*([{\s]+|["'`*.)\]}!\s]+$/g, '');
  const a = norm(answer);
  for (const c of choices) if (norm(c) === a) return c;
  const b = loose(answer);
  for (const c of choices) if (loose(c) === b) return c;
  return undefined;
}

/**
 * The key an answer votes under: its choice when choices are given, otherwise the normal form of the
 * free text (same lemma set = same answer; "Use PostgreSQL." and "use postgresql" vote together).
 */
export function voteKey(answer: string, choices?: readonly string[] | null): string {
  if (choices && choices.length > 0) return matchChoice(answer, choices) ?? answer;
  return answerKey(answer);
}

function byName(a: ConsensusInput, b: ConsensusInput): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function clampConfidence(c: number): number {
  return Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0;
}

interface Tally {
  key: string;
  label: string;
  labelWeight: number;
  weight: number;
  count: number;
  experts: string[];
  order: number;
}

/**
 * The consensus over valid answers: a confidence-weighted plurality vote, the winner's share of the
 * weight (agreement), the normalised entropy of the vote, recommendations grouped by lemmatised
 * word-set overlap, and who dissents. A pure function: the same answers, in any order, give the same
 * result.
 */
export function computeConsensus(inputs: readonly ConsensusInput[], opts: ConsensusOptions = {}): Consensus {
  const choices = opts.choices && opts.choices.length > 0 ? opts.choices : null;
  const sorted = inputs.slice().sort(byName);

  // --- the vote
  const tallies = new Map<string, Tally>();
  const keys: string[] = new Array(sorted.length);
  let total = 0;
  let totalCount = 0;
  for (let idx = 0; idx < sorted.length; idx++) {
    const input = sorted[idx]!;
    const conf = clampConfidence(input.answer.confidence);
    const w = (input.weight ?? 1) * conf;
    const key = voteKey(input.answer.answer, choices);
    keys[idx] = key;
    let t = tallies.get(key);
    if (!t) {
      const label = choices ? (matchChoice(input.answer.answer, choices) ?? input.answer.answer) : input.answer.answer.trim();
      const order = choices ? choices.indexOf(label) : Number.MAX_SAFE_INTEGER;
      t = { key, label, labelWeight: w, weight: 0, count: 0, experts: [], order: order < 0 ? Number.MAX_SAFE_INTEGER : order };
      tallies.set(key, t);
    } else if (!choices && w > t.labelWeight) {
      // Free text: the label is the wording of the most confident supporter (ties: first by name).
      t.label = input.answer.answer.trim();
      t.labelWeight = w;
    }
    t.weight += w;
    t.count++;
    t.experts.push(input.name);
    total += w;
    totalCount++;
  }
  const ranked = [...tallies.values()].sort((a, b) => b.weight - a.weight || b.count - a.count || a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const useCounts = total <= 0;
  const shareOf = (t: Tally): number => (totalCount === 0 ? 0 : useCounts ? t.count / totalCount : t.weight / total);
  const votes: Vote[] = ranked.map((t) => ({ answer: t.label, weight: round(t.weight), share: round(shareOf(t)), count: t.count, experts: t.experts }));
  const winner = ranked[0];
  const agreement = winner ? round(shareOf(winner)) : 0;

  let entropy = 0;
  const k = Math.max(choices ? choices.length : 0, ranked.length);
  if (k >= 2 && totalCount > 0) {
    let h = 0;
    for (const t of ranked) {
      const p = shareOf(t);
      if (p > 0) h -= p * Math.log(p);
    }
    entropy = round(h / Math.log(k));
  }

  // --- recommendations
  const responded = sorted.length;
  const recommendations = groupRecommendations(sorted, responded, opts.similarity ?? DEFAULT_SIMILARITY, opts.maxRecommendationsPerExpert ?? 50);

  // --- dissent
  const dissentExperts = winner
    ? sorted
        .filter((_i, idx) => keys[idx] !== winner.key)
        .map((i) => ({ name: i.name, answer: choices ? (matchChoice(i.answer.answer, choices) ?? i.answer.answer) : i.answer.answer, confidence: clampConfidence(i.answer.confidence) }))
        .sort((a, b) => b.confidence - a.confidence || (a.name < b.name ? -1 : 1))
    : [];
  const dissentRecs = recommendations.filter((r) => !r.majority).map((r) => ({ text: r.text, supporters: r.supporters, share: r.share }));

  return {
    answer: winner ? winner.label : null,
    agreement,
    entropy,
    votes,
    recommendations,
    dissent: { experts: dissentExperts, recommendations: dissentRecs },
  };
}

interface RecItem {
  expert: string;
  text: string;
  rule: string | undefined;
  lemmas: Int32Array;
  confidence: number;
}

function groupRecommendations(sorted: readonly ConsensusInput[], responded: number, threshold: number, perExpert: number): RecommendationGroup[] {
  const interner = new LemmaInterner();
  const items: RecItem[] = [];
  for (const input of sorted) {
    const recs = input.answer.recommendations;
    const n = Math.min(recs.length, perExpert);
    const confidence = clampConfidence(input.answer.confidence);
    for (let i = 0; i < n; i++) {
      const r = recs[i]!;
      const text = r.text.trim();
      if (text.length === 0) continue;
      items.push({ expert: input.name, text, rule: r.rule, lemmas: interner.idsOf(text), confidence });
    }
  }
  const n = items.length;
  // Pairwise similarities, computed once on demand (-1: not yet), reused for the representatives.
  const sims = new Float64Array(n * n).fill(-1);
  const sim = (a: number, b: number): number => {
    let v = sims[a * n + b]!;
    if (v < 0) {
      v = jaccardIds(items[a]!.lemmas, items[b]!.lemmas);
      sims[a * n + b] = v;
      sims[b * n + a] = v;
    }
    return v;
  };
  // Greedy average-linkage grouping in a fixed order (experts by name, then their order): an item
  // joins the group it is most similar to on average, when that average reaches the threshold.
  const groups: number[][] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestSim = 0;
    for (let g = 0; g < groups.length; g++) {
      const members = groups[g]!;
      let sum = 0;
      for (const m of members) sum += sim(i, m);
      const avg = sum / members.length;
      if (avg >= threshold && avg > bestSim) {
        best = g;
        bestSim = avg;
      }
    }
    if (best >= 0) groups[best]!.push(i);
    else groups.push([i]);
  }
  const out: Array<RecommendationGroup & { weight: number }> = groups.map((members) => {
    const supporters = [...new Set(members.map((m) => items[m]!.expert))].sort();
    const rules = [...new Set(members.map((m) => items[m]!.rule).filter((r): r is string => typeof r === 'string' && r.length > 0))].sort();
    // The wording shown is the member closest to the others (ties: most confident, then first).
    let rep = members[0]!;
    let repScore = -1;
    for (const m of members) {
      let score = 0;
      for (const o of members) if (o !== m) score += sim(m, o);
      if (score > repScore + 1e-12 || (Math.abs(score - repScore) <= 1e-12 && items[m]!.confidence > items[rep]!.confidence)) {
        rep = m;
        repScore = score;
      }
    }
    // Weight: each supporter's confidence once.
    const seen = new Set<string>();
    let weight = 0;
    for (const m of members) {
      const it = items[m]!;
      if (!seen.has(it.expert)) {
        seen.add(it.expert);
        weight += it.confidence;
      }
    }
    const share = responded > 0 ? supporters.length / responded : 0;
    return { text: items[rep]!.text, supporters, share: round(share), majority: supporters.length * 2 > responded, rules, weight };
  });
  out.sort((a, b) => b.supporters.length - a.supporters.length || b.weight - a.weight || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return out.map(({ weight: _w, ...g }) => g);
}

/**
 * Borda count over peer ballots: on a ballot of m candidates the first gets m−1 points, the last 0.
 * Reviewers never rank themselves. Sorted by points, then name.
 */
export function bordaCount(ballots: ReadonlyArray<{ reviewer: string; order: readonly string[] }>, candidates: readonly string[]): PeerRank[] {
  const points = new Map<string, { points: number; ballots: number }>();
  for (const c of candidates) points.set(c, { points: 0, ballots: 0 });
  for (const ballot of ballots) {
    const m = ballot.order.length;
    ballot.order.forEach((name, i) => {
      const p = points.get(name);
      if (!p || name === ballot.reviewer) return;
      p.points += m - 1 - i;
      p.ballots++;
    });
  }
  return [...points.entries()]
    .map(([name, p]) => ({ name, points: p.points, ballots: p.ballots }))
    .sort((a, b) => b.points - a.points || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
