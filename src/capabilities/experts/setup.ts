import type { MetricsRegistry } from '../../platform/metrics/types.js';
import { HttpClient } from '../../platform/net/index.js';
import type { CircuitBreaker } from '../../platform/resilience/index.js';
import { createBuiltinExperts } from './builtin/expert.js';
import type { CircleOptions } from './circle.js';
import { LlmExpert } from './llm-expert.js';
import { providerPolicy } from './policy.js';
import { createProvider, netTransport } from './providers/index.js';
import type { HttpTransport, ProviderConfig } from './providers/index.js';
import { ExpertsService } from './service.js';
import type { ConsultationCache, ConsultationHistory } from './service.js';
import type { Expert } from './types.js';

/** Everything `codectl.yaml`'s `experts:` section says, as plain values. */
export interface ExpertsSetup {
  providers: readonly ProviderConfig[];
  builtin: readonly string[];
  circle: CircleOptions;
  batchConcurrency: number;
  maxBatch: number;
  maxRunning: number;
  /** 0: no cache. */
  cacheTtlMs: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  /** 0: none. */
  attemptTimeoutMs: number;
  /** 0: no breaker. */
  breakerFailures: number;
  breakerOpenMs: number;
}

export interface ExpertsDeps {
  /** Where API keys are read from. */
  env: Readonly<Record<string, string | undefined>>;
  /** The engine's HTTP client, adapted (`netTransport(engine.http)`); by default a private HttpClient closed by `close()`. */
  transport?: HttpTransport;
  metrics?: MetricsRegistry;
  cache?: ConsultationCache;
  history?: ConsultationHistory;
  onInternalError?: (err: unknown, where: 'cache' | 'history') => void;
  /** Feature flags read per consultation (engine.flags readers for experts.cache, experts.earlyReturn). */
  flags?: { cache?: () => boolean; earlyReturn?: () => boolean };
}

/** Builds the experts (providers behind their resilience policies, built-ins) and the service. */
export function createExperts(setup: ExpertsSetup, deps: ExpertsDeps): { service: ExpertsService; experts: Expert[]; breakers: CircuitBreaker[]; close: () => Promise<void> } {
  let client: HttpClient | undefined;
  let transport = deps.transport;
  if (!transport && setup.providers.length > 0) {
    // LLM answers can take minutes to a first byte when not streamed: the circle's per-expert timeout
    // bounds them, not the client's. The per-provider breaker lives in providerPolicy, not per origin.
    client = new HttpClient({ connectionsPerOrigin: 16, headersTimeoutMs: 600_000, bodyTimeoutMs: 600_000, breaker: false, ...(deps.metrics ? { metrics: deps.metrics } : {}), userAgent: 'codectl-experts' });
    transport = netTransport(client);
  }
  const experts: Expert[] = [];
  const breakers: CircuitBreaker[] = [];
  for (const config of setup.providers) {
    const provider = createProvider(config, { transport: transport!, env: deps.env });
    const { policy, breaker } = providerPolicy({
      name: config.name,
      maxAttempts: setup.maxAttempts,
      baseDelayMs: setup.retryBaseDelayMs,
      ...(setup.attemptTimeoutMs > 0 ? { attemptTimeoutMs: setup.attemptTimeoutMs } : {}),
      breakerFailures: setup.breakerFailures > 0 ? setup.breakerFailures : false,
      breakerOpenMs: setup.breakerOpenMs,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
    if (breaker) breakers.push(breaker);
    experts.push(new LlmExpert(provider, { policy, ...(config.weight !== undefined ? { weight: config.weight } : {}), ...(config.pricing ? { pricing: config.pricing } : {}) }));
  }
  experts.push(...createBuiltinExperts(setup.builtin));
  const service = new ExpertsService({
    experts,
    circle: setup.circle,
    ...(deps.cache && setup.cacheTtlMs > 0 ? { cache: deps.cache, cacheTtlMs: setup.cacheTtlMs } : {}),
    ...(deps.history ? { history: deps.history } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.onInternalError ? { onInternalError: deps.onInternalError } : {}),
    ...(deps.flags ? { flags: deps.flags } : {}),
    batchConcurrency: setup.batchConcurrency,
    maxBatch: setup.maxBatch,
    maxRunning: setup.maxRunning,
  });
  return {
    service,
    experts,
    /** One per LLM provider: optional work the memory monitor may isolate under pressure. */
    breakers,
    close: async () => {
      await service.close();
      await client?.close();
    },
  };
}
