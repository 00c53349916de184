import { abortReason, contextFor } from './context.js';
import { checkNumber } from './errors.js';
import { Gate } from './gate.js';
import type { GateStats } from './gate.js';
import type { ExecuteContext, Policy } from './types.js';

export interface BulkheadOptions {
  name?: string;
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; one more is refused with RESILIENCE_BULKHEAD_FULL. Default 0 (fail fast). */
  maxQueue?: number;
  /** A queued call gives up with RESILIENCE_BULKHEAD_WAIT after this many ms. Default 1 000. */
  maxWaitMs?: number;
}

/**
 * Caps concurrent calls, with a bounded queue and a bounded wait; a full bulkhead fails fast with
 * RESILIENCE_BULKHEAD_FULL so overload turns into quick errors instead of a growing backlog.
 *
 *   const bulkhead = new Bulkhead({ maxConcurrent: 16, maxQueue: 64, maxWaitMs: 500 });
 */
export class Bulkhead extends Gate implements Policy {
  private readonly releaseOk: (v: unknown) => unknown;
  private readonly releaseErr: (e: unknown) => never;

  constructor(options: BulkheadOptions) {
    const name = options.name ?? 'bulkhead';
    const p = `bulkhead ${name}`;
    super(
      p,
      checkNumber(p, 'maxConcurrent', options.maxConcurrent, 1, 1e6),
      checkNumber(p, 'maxQueue', options.maxQueue ?? 0, 0, 1e7),
      checkNumber(p, 'maxWaitMs', options.maxWaitMs ?? 1_000, 0, 2_147_483_647),
      'RESILIENCE_BULKHEAD_FULL',
    );
    this.releaseOk = (v) => {
      this.release();
      return v;
    };
    this.releaseErr = (e) => {
      this.release();
      throw e;
    };
  }

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const slot = this.acquire(signal);
    if (slot === true) return this.run(fn, signal, attempt);
    return slot.then(() => this.run(fn, signal, attempt));
  }

  stats(): GateStats {
    return this.gateStats();
  }

  private run<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal: AbortSignal | undefined, attempt: number): Promise<T> {
    let result: PromiseLike<T> | T;
    try {
      result = fn(contextFor(signal, attempt));
    } catch (err) {
      this.release();
      return Promise.reject(err);
    }
    if (result instanceof Promise) return result.then(this.releaseOk, this.releaseErr) as Promise<T>;
    return Promise.resolve(result).then(this.releaseOk, this.releaseErr) as Promise<T>;
  }
}
