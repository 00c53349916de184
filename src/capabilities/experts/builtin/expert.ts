import { readReviewInput } from './input.js';
import type { ReviewInput } from './input.js';
import { COST_RULES, PERFORMANCE_RULES, RELIABILITY_RULES, SECURITY_RULES } from './rules.js';
import type { Hit, InputKind, Rule, Severity } from './rules.js';
import { ExpertsError } from '../errors.js';
import type { AskContext, Expert, ExpertOutcome, Question, Recommendation } from '../types.js';

export const REVIEW_CHOICES = ['approve', 'changes-requested'] as const;
export type BuiltinName = 'security' | 'reliability' | 'performance' | 'cost';
export const BUILTIN_NAMES: readonly BuiltinName[] = ['security', 'reliability', 'performance', 'cost'];

const RANK: Record<Severity, number> = { critical: 3, high: 2, medium: 1, low: 0 };
const MAX_RECOMMENDATIONS = 20;

interface BuiltinSpec {
  rules: Rule[];
  /** The inputs its rules read: the share of them present is its coverage. */
  inputs: InputKind[];
  focus: string;
}

const SPECS: Record<BuiltinName, BuiltinSpec> = {
  security: { rules: SECURITY_RULES, inputs: ['spec', 'findings', 'probes', 'logs'], focus: 'exposure, secrets, privileges and authentication' },
  reliability: { rules: RELIABILITY_RULES, inputs: ['spec', 'findings', 'probes', 'logs'], focus: 'redundancy, health, reachability and errors' },
  performance: { rules: PERFORMANCE_RULES, inputs: ['spec', 'findings', 'probes', 'logs'], focus: 'latency, resource limits and timeouts' },
  cost: { rules: COST_RULES, inputs: ['spec', 'findings', 'logs'], focus: 'replica counts, sizes and log volume' },
};

/**
 * A rule-based expert that works offline on deployment reviews. It answers `approve` or
 * `changes-requested` (any finding of medium severity or worse), with recommendations that each name
 * their rule. Any other question it abstains from, saying why.
 *
 * Confidence is a rule of thumb, not a probability anyone calibrated: changes-requested starts at
 * 0.6 and grows with the number and severity of findings (at most 0.95); approve is
 * 0.5 + 0.4 × the share of its inputs that were present, less 0.05 per low finding (at least 0.4).
 */
export class BuiltinExpert implements Expert {
  readonly kind = 'builtin' as const;
  readonly fingerprint: string;
  readonly weight: number;
  private readonly spec: BuiltinSpec;

  constructor(
    readonly name: BuiltinName,
    opts: { weight?: number } = {},
  ) {
    this.spec = SPECS[name];
    this.fingerprint = `builtin:${name}:v1`;
    this.weight = opts.weight ?? 1;
  }

  /** The rules this expert applies (id and description), for docs and `--help`. */
  rules(): Array<{ id: string; description: string }> {
    return this.spec.rules.map((r) => ({ id: r.id, description: r.description }));
  }

  async ask(q: Question, _ctx: AskContext): Promise<ExpertOutcome> {
    return this.review(q);
  }

  /** The synchronous core of `ask`. */
  review(q: Question): ExpertOutcome {
    if (q.kind !== 'review') return { status: 'abstain', reason: `the ${this.name} expert reviews deployments only (kind "review"); this question is outside its scope` };
    if (q.choices && q.choices.length > 0) {
      const want = new Set<string>(REVIEW_CHOICES);
      if (q.choices.length !== want.size || !q.choices.every((c) => want.has(c.trim().toLowerCase()))) {
        return { status: 'abstain', reason: `the ${this.name} expert answers only ${REVIEW_CHOICES.join(' / ')}` };
      }
    }
    const input = readReviewInput(q.context);
    if (!input) return { status: 'abstain', reason: `no spec, findings, probe results or logs in the context for the ${this.name} expert to review` };
    return this.decide(input, q.choices);
  }

  private decide(input: ReviewInput, choices: readonly string[] | undefined): ExpertOutcome {
    const hits: Hit[] = [];
    for (const rule of this.spec.rules) hits.push(...rule.check(input));
    const present = this.spec.inputs.filter((k) => input[k] !== null);
    const coverage = present.length / this.spec.inputs.length;
    if (present.length === 0) return { status: 'abstain', reason: `the context has none of the inputs the ${this.name} expert reads (${this.spec.inputs.join(', ')})` };
    hits.sort((a, b) => RANK[b.severity] - RANK[a.severity] || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
    const count = (s: Severity): number => hits.filter((h) => h.severity === s).length;
    const blocking = hits.filter((h) => RANK[h.severity] >= RANK.medium);
    const changes = blocking.length > 0;
    const confidence = changes
      ? Math.min(0.95, 0.6 + 0.15 * count('critical') + 0.1 * count('high') + 0.05 * count('medium'))
      : Math.max(0.4, 0.5 + 0.4 * coverage - 0.05 * count('low'));
    const seen = new Set<string>();
    const recommendations: Recommendation[] = [];
    for (const h of hits) {
      const key = `${h.rule}\u0000${h.recommendation}`;
      if (seen.has(key)) continue;
      seen.add(key);
      recommendations.push({ text: h.recommendation, rule: h.rule });
      if (recommendations.length >= MAX_RECOMMENDATIONS) break;
    }
    const answer = changes ? 'changes-requested' : 'approve';
    const canonical = choices?.find((c) => c.trim().toLowerCase() === answer) ?? answer;
    const checked = `${this.spec.rules.length} ${this.name} rules (${this.spec.focus}) over ${present.join(', ')}`;
    const rationale = changes
      ? `${checked}: ${blocking.length} finding${blocking.length === 1 ? '' : 's'} of medium severity or worse, first: ${blocking[0]!.finding} [${blocking[0]!.rule}]`
      : hits.length > 0
        ? `${checked}: only low-severity findings, first: ${hits[0]!.finding} [${hits[0]!.rule}]`
        : `${checked}: nothing found${coverage < 1 ? `; not available: ${this.spec.inputs.filter((k) => input[k] === null).join(', ')}` : ''}`;
    return { status: 'ok', answer: { answer: canonical, confidence: Math.round(confidence * 1000) / 1000, recommendations, rationale } };
  }
}

/** The built-in experts named in config (`experts.builtin`). */
export function createBuiltinExperts(names: readonly string[], weights: Readonly<Record<string, number>> = {}): BuiltinExpert[] {
  return names.map((n) => {
    if (!(BUILTIN_NAMES as readonly string[]).includes(n)) {
      throw new ExpertsError('EXPERTS_CONFIG_INVALID', `experts.builtin: unknown built-in expert "${n}" (known: ${BUILTIN_NAMES.join(', ')})`, { key: 'experts.builtin', value: n });
    }
    const w = weights[n];
    return new BuiltinExpert(n as BuiltinName, w !== undefined ? { weight: w } : {});
  });
}
