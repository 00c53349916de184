import { abortReason, contextFor, sleep } from './context.js';
import { checkNumber, isResilienceError } from './errors.js';
import type { ExecuteContext, Policy } from './types.js';

const IDEMPOTENT = Symbol.for('code-engine.resilience.idempotent');

/** Marks an operation as safe to run more than once; a Retry policy only retries marked operations. */
export function idempotent<F extends (...args: any[]) => unknown>(fn: F): F {
  (fn as unknown as Record<symbol, boolean>)[IDEMPOTENT] = true;
  return fn;
}

export function isIdempotent(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, boolean>)[IDEMPOTENT] === true;
}

/**
 * Milliseconds to wait from a `Retry-After` header value (delay-seconds or an HTTP-date), or undefined
 * when it is missing or unreadable. Capped at one day.
 */
export function parseRetryAfter(value: string | string[] | undefined | null, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  const text = v.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, 86_400_000);
}

/** The server-requested wait an error carries (`retryAfterMs` on it or in its `details`), if any. */
export function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const direct = (err as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof direct === 'number' && direct >= 0) return direct;
  const details = (err as { details?: { retryAfterMs?: unknown } }).details;
  const nested = details?.retryAfterMs;
  return typeof nested === 'number' && nested >= 0 ? nested : undefined;
}

/** Exponential backoff with full jitter (AWS architecture blog): a uniform draw in [0, min(cap, base·2^(n-1))]. */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(retry - 1, 52));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  name?: string;
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** No retry starts after this many ms since the first attempt (waits included). Default 30 000. */
  maxElapsedMs?: number;
  /** First backoff ceiling in ms; doubles per retry. Default 100. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms. Default 10 000. */
  maxDelayMs?: number;
  /**
   * Every operation run through this policy is idempotent. Default false: then only operations marked
   * with `idempotent(fn)` are retried and the others fail on their first error.
   */
  idempotent?: boolean;
  /**
   * Which errors are worth another attempt. Default: all but caller aborts and the policies' own
   * refusals (an open breaker, a full bulkhead): retrying those only adds load.
   */
  retryOn?: (err: unknown, attempt: number) => boolean;
  /** Observes each retry before its wait (logging, metrics). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Randomness for the jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** Clock in epoch ms. Default Date.now(). */
  now?: () => number;
}

function defaultRetryOn(err: unknown): boolean {
  if (isResilienceError(err)) return err.code === 'RESILIENCE_TIMEOUT';
  if (typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false) return false;
  return !(err instanceof Error && err.name === 'AbortError');
}

/**
 * Retries failed idempotent operations with exponential backoff and full jitter, honouring a
 * `Retry-After` the error carries (`retryAfterMs`): it waits at least that long, and gives up when
 * that wait would cross `maxElapsedMs`. The last error is rethrown unchanged.
 */
export class Retry implements Policy {
  private readonly name: string;
  readonly maxAttempts: number;
  private readonly maxElapsedMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly allIdempotent: boolean;
  private readonly retryOn: (err: unknown, attempt: number) => boolean;
  private readonly onRetry: RetryOptions['onRetry'];
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: RetryOptions = {}) {
    this.name = options.name ?? 'retry';
    const p = `retry ${this.name}`;
    this.maxAttempts = checkNumber(p, 'maxAttempts', options.maxAttempts ?? 3, 1, 100);
    this.maxElapsedMs = checkNumber(p, 'maxElapsedMs', options.maxElapsedMs ?? 30_000, 0, 86_400_000);
    this.baseDelayMs = checkNumber(p, 'baseDelayMs', options.baseDelayMs ?? 100, 0, 3_600_000);
    this.maxDelayMs = checkNumber(p, 'maxDelayMs', options.maxDelayMs ?? 10_000, this.baseDelayMs, 86_400_000);
    this.allIdempotent = options.idempotent ?? false;
    this.retryOn = options.retryOn ?? defaultRetryOn;
    this.onRetry = options.onRetry;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => Date.now());
  }

  async execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, firstAttempt = 1): Promise<T> {
    const retriable = this.allIdempotent || isIdempotent(fn);
    const started = this.now();
    for (let attempt = firstAttempt; ; attempt++) {
      if (signal?.aborted) throw abortReason(signal);
      try {
        return await fn(contextFor(signal, attempt));
      } catch (err) {
        const tried = attempt - firstAttempt + 1;
        if (!retriable || tried >= this.maxAttempts || signal?.aborted || !this.retryOn(err, attempt)) throw err;
        const retryAfter = retryAfterOf(err);
        const jittered = backoffDelay(tried, this.baseDelayMs, this.maxDelayMs, this.random);
        const delayMs = retryAfter === undefined ? jittered : Math.max(retryAfter, jittered);
        if (this.now() + delayMs - started > this.maxElapsedMs) throw err;
        this.onRetry?.({ attempt, delayMs, error: err });
        await sleep(delayMs, signal);
      }
    }
  }
}

