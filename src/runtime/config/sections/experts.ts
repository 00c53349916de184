import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { CircleOptions } from '../../../capabilities/experts/circle.js';
import type { ProviderConfig } from '../../../capabilities/experts/providers/provider.js';
import type { ExpertsSetup } from '../../../capabilities/experts/setup.js';
import { StringEnum } from '../types.js';

const provider = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'Expert name, unique; used in results, metrics and --expert.' }),
    kind: StringEnum(['openai', 'anthropic', 'ollama'], { description: 'Protocol: openai (any OpenAI-compatible chat completions API), anthropic (Messages API), ollama (native /api/chat).' }),
    baseUrl: Type.String({ pattern: '^https?://', maxLength: 2000, description: 'API root, e.g. https://api.openai.com/v1, https://api.anthropic.com, http://127.0.0.1:11434.' }),
    model: Type.String({ minLength: 1, maxLength: 200, description: 'Model name sent to the provider.' }),
    apiKeyEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'Environment variable holding the API key (never the key itself).' })),
    stream: Type.Boolean({ default: true, description: 'Stream the answer (SSE / NDJSON).' }),
    jsonMode: Type.Boolean({ default: true, description: 'Ask for JSON output where the protocol can (OpenAI response_format, Ollama format).' }),
    temperature: Type.Number({ minimum: 0, maximum: 2, default: 0, description: 'Sampling temperature.' }),
    maxTokens: Type.Integer({ minimum: 1, maximum: 200_000, default: 1024, description: 'Most tokens in one answer.' }),
    weight: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 1, description: 'Vote weight multiplier.' }),
    pricing: Type.Optional(
      Type.Object(
        {
          inputPerMTok: Type.Number({ minimum: 0, description: 'USD per million input tokens.' }),
          outputPerMTok: Type.Number({ minimum: 0, description: 'USD per million output tokens.' }),
        },
        { additionalProperties: false, description: 'Prices for the estimated-cost metric.' },
      ),
    ),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,100}$' }), Type.String({ maxLength: 1000 }), { maxProperties: 20, description: 'Extra non-secret headers.' })),
  },
  { additionalProperties: false },
);

/** The circle of experts (src/capabilities/experts, README "Circle of experts"). */
export const expertsSection = Type.Object(
  {
    providers: Type.Array(provider, { default: [], maxItems: 28, description: 'LLM experts: { name, kind, baseUrl, model, apiKeyEnv, stream, jsonMode, temperature, maxTokens, weight, pricing, headers }. Keys come only from the variables named by apiKeyEnv.' }),
    builtin: Type.Array(StringEnum(['security', 'reliability', 'performance', 'cost']), { default: ['security', 'reliability', 'performance', 'cost'], uniqueItems: true, maxItems: 4, description: 'Offline rule-based experts for deployment reviews; they abstain on other questions.' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 32, default: 8, live: true, description: 'Experts asked at once in one consultation.' }),
    expertTimeoutMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 30_000, live: true, description: 'One expert\'s time to answer, retries included.' }),
    deadlineMs: Type.Integer({ minimum: 10, maximum: 1_800_000, default: 60_000, live: true, description: 'A whole consultation\'s time, peer ranking included.' }),
    minResponses: Type.Integer({ minimum: 1, maximum: 32, default: 3, live: true, description: 'Valid answers wanted (capped at the experts that do not abstain); fewer marks the result degraded.' }),
    earlyReturn: Type.Boolean({ default: true, live: true, description: 'Return once minResponses answered and the experts still out could not change the winning answer.' }),
    peerRanking: Type.Boolean({ default: false, live: true, description: 'Run the peer-ranking round (LLM experts rank each other\'s answers; Borda count).' }),
    similarity: Type.Number({ minimum: 0.05, maximum: 1, default: 0.5, live: true, description: 'Jaccard similarity of lemma sets from which two recommendations are grouped.' }),
    batchConcurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4, live: true, description: 'Consultations of one batch run at once.' }),
    maxBatch: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most consultations in one batch.' }),
    maxRunning: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000, description: 'Most background consultations at once (POST /v1/consultations with wait=false).' }),
    cacheTtlMs: Type.Integer({ minimum: 0, maximum: 604_800_000, default: 3_600_000, description: 'How long a result is reused for the same question, context and experts (degraded results never are). 0: no cache.' }),
    maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3, description: 'Attempts per provider call (rate limits, 5xx, network errors, cut streams are retried with backoff).' }),
    retryBaseDelayMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200, description: 'First retry backoff ceiling; doubles per retry (full jitter; Retry-After honoured).' }),
    attemptTimeoutMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 0, description: 'Time for one provider attempt; 0: only expertTimeoutMs bounds it.' }),
    breakerFailures: Type.Integer({ minimum: 0, maximum: 1000, default: 10, description: 'Consecutive provider failures that open its circuit breaker; 0: no breaker.' }),
    breakerOpenMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'How long an open breaker refuses calls to its provider.' }),
  },
  { additionalProperties: false, default: {} },
);

export type ExpertsConfig = Static<typeof expertsSection>;

/** Circle options from the section (live keys included). */
export function circleOptions(cfg: ExpertsConfig): CircleOptions {
  return {
    concurrency: cfg.concurrency,
    expertTimeoutMs: cfg.expertTimeoutMs,
    deadlineMs: cfg.deadlineMs,
    minResponses: cfg.minResponses,
    earlyReturn: cfg.earlyReturn,
    peerRanking: cfg.peerRanking,
    similarity: cfg.similarity,
  };
}

/** The capability's setup from the section. */
export function expertsSetup(cfg: ExpertsConfig): ExpertsSetup {
  return {
    providers: cfg.providers.map((p): ProviderConfig => ({ ...p })),
    builtin: cfg.builtin,
    circle: circleOptions(cfg),
    batchConcurrency: cfg.batchConcurrency,
    maxBatch: cfg.maxBatch,
    maxRunning: cfg.maxRunning,
    cacheTtlMs: cfg.cacheTtlMs,
    maxAttempts: cfg.maxAttempts,
    retryBaseDelayMs: cfg.retryBaseDelayMs,
    attemptTimeoutMs: cfg.attemptTimeoutMs,
    breakerFailures: cfg.breakerFailures,
    breakerOpenMs: cfg.breakerOpenMs,
  };
}
