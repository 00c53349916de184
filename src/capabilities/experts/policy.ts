import { hasCode, isCodeError } from '../../platform/errors.js';
import type { MetricsRegistry } from '../../platform/metrics/types.js';
import { CircuitBreaker, Retry, Timeout, wrap } from '../../platform/resilience/index.js';
import type { Policy } from '../../platform/resilience/index.js';
import { isRetryableProviderError } from './errors.js';

export interface ProviderPolicyOptions {
  /** Provider name: names the breaker (`code_breaker_state{breaker="expert:NAME"}`). */
  name: string;
  /** Attempts per call, the first included (default 3). */
  maxAttempts?: number;
  /** Time for one attempt; none by default (the circle's per-expert timeout bounds the whole). */
  attemptTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive failures that open the breaker (default 10); false: no breaker. */
  breakerFailures?: number | false;
  /** How long an open breaker refuses calls (default 30 s). */
  breakerOpenMs?: number;
  metrics?: MetricsRegistry;
}

function isAbort(err: unknown): boolean {
  return hasCode(err, 'EXPERTS_CANCELLED') || (err instanceof Error && err.name === 'AbortError');
}

/** A client's own mistake (bad request, bad key, no key) says nothing about the provider's health. */
function isClientSide(err: unknown): boolean {
  if (!isCodeError(err)) return false;
  if (err.code === 'EXPERTS_PROVIDER_NO_KEY') return true;
  const status = err.details?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * The resilience around one provider, from the platform's policies: retry (rate limits, 5xx,
 * network errors, cut streams, attempt timeouts; honouring Retry-After) outside a circuit breaker
 * outside an optional per-attempt timeout. Cancellations and client-side errors do not count against
 * the provider.
 */
export function providerPolicy(o: ProviderPolicyOptions): { policy: Policy; breaker: CircuitBreaker | null } {
  const retry = new Retry({
    name: `expert:${o.name}`,
    maxAttempts: o.maxAttempts ?? 3,
    baseDelayMs: o.baseDelayMs ?? 200,
    maxDelayMs: o.maxDelayMs ?? 5_000,
    maxElapsedMs: 120_000,
    idempotent: true,
    retryOn: (err) => !isAbort(err) && (isRetryableProviderError(err) || hasCode(err, 'RESILIENCE_TIMEOUT')),
  });
  const breaker =
    o.breakerFailures === false
      ? null
      : new CircuitBreaker({
          name: `expert:${o.name}`,
          consecutiveFailures: o.breakerFailures ?? 10,
          errorRate: 0.5,
          windowSize: 50,
          minimumCalls: 20,
          openMs: o.breakerOpenMs ?? 30_000,
          exclude: (err) => isAbort(err) || isClientSide(err),
          ...(o.metrics ? { metrics: o.metrics } : {}),
        });
  const timeout = o.attemptTimeoutMs ? new Timeout(o.attemptTimeoutMs, { name: `expert:${o.name}` }) : null;
  const parts: Policy[] = [retry];
  if (breaker) parts.push(breaker);
  if (timeout) parts.push(timeout);
  return { policy: wrap(...parts), breaker };
}
