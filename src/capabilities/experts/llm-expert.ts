import type { Policy } from '../../platform/resilience/types.js';
import { answerPrompt, parseAnswer, parseRanking, rankPrompt, repairPrompt } from './answer.js';
import { describeError as describe } from './errors.js';
import type { ChatMessage, ChatProvider } from './providers/provider.js';
import type { AskContext, Expert, ExpertOutcome, Question, RankCandidate, Usage } from './types.js';

export interface LlmExpertOptions {
  /** Resilience around each provider call (retry, breaker, timeout); none = one plain call. */
  policy?: Policy;
  weight?: number;
  pricing?: { inputPerMTok: number; outputPerMTok: number };
}

const direct: Policy = {
  execute: async (fn, signal) => fn({ signal: signal ?? new AbortController().signal, attempt: 1 }),
};

function add(a: Usage, b: Usage): Usage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

/**
 * An expert backed by a chat provider. Asks for the answer schema; a reply that does not validate is
 * answered once with the reason and asked again, then recorded as an error. Transport failures come
 * back as errors with their reason: nothing is ever made up.
 */
export class LlmExpert implements Expert {
  readonly kind = 'llm' as const;
  readonly name: string;
  readonly fingerprint: string;
  readonly weight: number;
  readonly pricing: { inputPerMTok: number; outputPerMTok: number } | undefined;
  private readonly policy: Policy;

  constructor(
    readonly provider: ChatProvider,
    opts: LlmExpertOptions = {},
  ) {
    this.name = provider.name;
    this.fingerprint = `llm:${provider.kind}:${provider.baseUrl}:${provider.model}`;
    this.weight = opts.weight ?? 1;
    this.pricing = opts.pricing;
    this.policy = opts.policy ?? direct;
  }

  private call(system: string, messages: readonly ChatMessage[], signal: AbortSignal) {
    return this.policy.execute(({ signal: s }) => this.provider.chat({ system, messages, signal: s }), signal);
  }

  async ask(q: Question, ctx: AskContext): Promise<ExpertOutcome> {
    const prompt = answerPrompt(q, this.name);
    const messages: ChatMessage[] = [{ role: 'user', content: prompt.user }];
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let lastReason = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      let text: string;
      try {
        const reply = await this.call(prompt.system, messages, ctx.signal);
        usage = add(usage, reply.usage);
        text = reply.text;
      } catch (err) {
        const d = describe(err);
        // A protocol body that is not JSON counts as a malformed answer: one more try, like a bad reply.
        if (attempt === 1 && d.code === 'EXPERTS_PROVIDER_BAD_RESPONSE' && !ctx.signal.aborted) {
          lastReason = d.reason;
          continue;
        }
        return { status: 'error', reason: attempt > 1 && lastReason ? `malformed answer, then: ${d.reason}` : d.reason, ...(d.code ? { code: d.code } : {}), usage, attempts: attempt };
      }
      const parsed = parseAnswer(text, q.choices);
      if (parsed.ok) return { status: 'ok', answer: parsed.answer, usage, attempts: attempt };
      lastReason = parsed.reason;
      if (attempt === 1) {
        messages.push({ role: 'assistant', content: text.slice(0, 20_000) }, { role: 'user', content: repairPrompt(parsed.reason) });
      }
    }
    return { status: 'error', reason: `malformed answer after one retry: ${lastReason}`, code: 'EXPERTS_ANSWER_INVALID', usage, attempts: 2 };
  }

  async rank(q: Question, candidates: readonly RankCandidate[], ctx: AskContext): Promise<{ order: string[]; usage?: Usage }> {
    const prompt = rankPrompt(q, candidates);
    const labels = candidates.map((c) => c.label);
    const messages: ChatMessage[] = [{ role: 'user', content: prompt.user }];
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let reason = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const reply = await this.call(prompt.system, messages, ctx.signal);
      usage = add(usage, reply.usage);
      const parsed = parseRanking(reply.text, labels);
      if (parsed.ok) return { order: parsed.order, usage };
      reason = parsed.reason;
      messages.push({ role: 'assistant', content: reply.text.slice(0, 20_000) }, { role: 'user', content: repairPrompt(parsed.reason) });
    }
    throw new Error(`malformed ranking after one retry: ${reason}`);
  }
}
