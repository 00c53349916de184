import { isIdempotent, idempotent } from './retry.js';
import type { ExecuteContext, Policy } from './types.js';

/**
 * Joins policies, outermost first: `wrap(retry, breaker, timeout).execute(fn)` is
 * `retry.execute(() => breaker.execute(() => timeout.execute(fn)))`, with the signal and the attempt
 * number passed down, so each retry gets a fresh timeout and every attempt is seen by the breaker.
 * An operation marked `idempotent(fn)` stays marked for the retry inside the composition.
 */
export function wrap(...policies: Policy[]): Policy {
  if (policies.length === 0) return NOOP;
  if (policies.length === 1) return policies[0]!;
  return new Composed(policies);
}

class Composed implements Policy {
  constructor(readonly policies: readonly Policy[]) {}

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    return this.step(0, fn, isIdempotent(fn), signal, attempt);
  }

  private step<T>(i: number, fn: (ctx: ExecuteContext) => PromiseLike<T> | T, marked: boolean, signal: AbortSignal | undefined, attempt: number): Promise<T> {
    const policy = this.policies[i]!;
    if (i === this.policies.length - 1) return policy.execute(fn, signal, attempt);
    const inner = (ctx: ExecuteContext): Promise<T> => this.step(i + 1, fn, marked, ctx.signal, ctx.attempt);
    return policy.execute(marked ? idempotent(inner) : inner, signal, attempt);
  }
}

/** Runs the function as is: the neutral policy (handy as a default). */
export const NOOP: Policy = {
  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    try {
      return Promise.resolve(fn({ signal: signal ?? new AbortController().signal, attempt }));
    } catch (err) {
      return Promise.reject(err);
    }
  },
};
