import { abortReason, contextFor } from './context.js';
import { checkNumber } from './errors.js';
import { Gate } from './gate.js';
import type { GateStats } from './gate.js';
import type { ExecuteContext, Policy } from './types.js';

export interface AdaptiveLimitOptions {
  name?: string;
  /** Starting concurrency. Default 16. */
  initial?: number;
  /** Never below this. Default 1. */
  min?: number;
  /** Never above this (the memory monitor can lower it at run time with `setCeiling`). Default 512. */
  max?: number;
  /** Multiplies the limit on a drop (AIMD's multiplicative decrease). Default 0.9. */
  backoffRatio?: number;
  /** A success slower than this counts as a drop: the dependency is saturating. Default: latency ignored. */
  latencyThresholdMs?: number;
  /** Which errors mean "too much load" (a timeout, a 503). Default: every error. */
  isDrop?: (err: unknown) => boolean;
  /** Calls waiting for a slot; one more is refused with RESILIENCE_LIMIT_EXCEEDED. Default 0. */
  maxQueue?: number;
  /** A queued call gives up after this many ms. Default 1 000. */
  maxWaitMs?: number;
}

export interface AdaptiveLimitStats extends GateStats {
  /** The AIMD estimate before rounding down to `limit`. */
  estimate: number;
  /** The current upper bound: `max`, or what `setCeiling` set. */
  ceiling: number;
  min: number;
  drops: number;
}

/**
 * An adaptive concurrency limit (AIMD, as in Netflix concurrency-limits): +1 after a success while the
 * limit is in use, ×backoffRatio after a drop (an error or a too-slow success). Callers run work
 * through `execute`; the memory monitor lowers or restores the ceiling with `setCeiling`.
 *
 *   const limit = new AdaptiveLimit({ initial: 8, max: 64, latencyThresholdMs: 250 });
 *   await limit.execute(({ signal }) => provider.complete(prompt, { signal }));
 *   memoryMonitor.onPressure((level) => limit.setCeiling(level === 'critical' ? 4 : undefined));
 */
export class AdaptiveLimit extends Gate implements Policy {
  private estimate: number;
  private ceiling: number;
  private readonly configuredMax: number;
  private readonly min: number;
  private readonly backoffRatio: number;
  private readonly latencyThresholdMs: number;
  private readonly isDrop: (err: unknown) => boolean;
  private drops = 0;

  constructor(options: AdaptiveLimitOptions = {}) {
    const name = options.name ?? 'adaptive-limit';
    const p = `adaptive limit ${name}`;
    const min = checkNumber(p, 'min', options.min ?? 1, 1, 1e6);
    const max = checkNumber(p, 'max', options.max ?? 512, min, 1e6);
    const initial = checkNumber(p, 'initial', options.initial ?? Math.min(16, max), min, max);
    super(p, initial, checkNumber(p, 'maxQueue', options.maxQueue ?? 0, 0, 1e7), checkNumber(p, 'maxWaitMs', options.maxWaitMs ?? 1_000, 0, 2_147_483_647), 'RESILIENCE_LIMIT_EXCEEDED');
    this.min = min;
    this.configuredMax = max;
    this.ceiling = max;
    this.estimate = initial;
    this.backoffRatio = checkNumber(p, 'backoffRatio', options.backoffRatio ?? 0.9, 0.1, 0.99, false);
    this.latencyThresholdMs = checkNumber(p, 'latencyThresholdMs', options.latencyThresholdMs ?? Infinity, 0, Infinity, false);
    this.isDrop = options.isDrop ?? (() => true);
  }

  /** Concurrent calls allowed now. */
  get currentLimit(): number {
    return this.limit;
  }

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const slot = this.acquire(signal);
    if (slot === true) return this.run(fn, signal, attempt);
    return slot.then(() => this.run(fn, signal, attempt));
  }

  /**
   * Lowers (or raises, up to the configured `max`) the ceiling; `undefined` restores `max`. A lower
   * ceiling applies at once to new calls; running calls finish.
   */
  setCeiling(ceiling: number | undefined): void {
    this.ceiling = ceiling === undefined ? this.configuredMax : Math.max(this.min, Math.min(this.configuredMax, Math.floor(checkNumber(this.name, 'ceiling', ceiling, 0, 1e6))));
    this.apply(Math.min(this.estimate, this.ceiling));
  }

  /** Records one outcome measured elsewhere (a caller that holds slots itself via acquire/release). */
  sample(latencyMs: number, inflight: number, failed: boolean): void {
    if (failed || latencyMs > this.latencyThresholdMs) {
      this.drops++;
      this.apply(Math.max(this.min, this.estimate * this.backoffRatio));
    } else if (inflight * 2 >= this.limit && this.estimate < this.ceiling) {
      this.apply(Math.min(this.ceiling, this.estimate + 1));
    }
  }

  stats(): AdaptiveLimitStats {
    return { ...this.gateStats(), estimate: this.estimate, ceiling: this.ceiling, min: this.min, drops: this.drops };
  }

  private apply(estimate: number): void {
    this.estimate = estimate;
    const next = Math.max(this.min, Math.floor(estimate));
    const grew = next > this.limit;
    this.limit = next;
    if (grew) this.drain();
  }

  private run<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal: AbortSignal | undefined, attempt: number): Promise<T> {
    const started = performance.now();
    const inflight = this.active;
    let result: PromiseLike<T> | T;
    try {
      result = fn(contextFor(signal, attempt));
    } catch (err) {
      this.release();
      this.sample(0, inflight, this.isDrop(err));
      return Promise.reject(err);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.release();
        this.sample(performance.now() - started, inflight, false);
        return value;
      },
      (err) => {
        this.release();
        this.sample(performance.now() - started, inflight, this.isDrop(err));
        throw err;
      },
    );
  }
}
