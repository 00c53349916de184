import type { MetricsRegistry, Counter } from '../metrics/types.js';
import { abortReason, contextFor } from './context.js';
import { ResilienceError, checkNumber } from './errors.js';
import type { BreakerState, ExecuteContext, Policy } from './types.js';

export interface CircuitBreakerOptions {
  /** Name in errors, events and metrics (`code_breaker_state{breaker="…"}`). Default "breaker". */
  name?: string;
  /** Opens after this many failures in a row. Default 5. */
  consecutiveFailures?: number;
  /** Opens when at least this share of the window failed... Default 0.5. */
  errorRate?: number;
  /** ...over the last this many calls... Default 100. */
  windowSize?: number;
  /** ...once the window holds at least this many calls. Default 10. */
  minimumCalls?: number;
  /** How long the breaker stays open before it lets trial calls through, in ms. Default 60 000. */
  openMs?: number;
  /** Trial calls let through while half-open. Default 3. */
  halfOpenTrials?: number;
  /** Successful trials that close the breaker again (any failed trial reopens it). Default 3. */
  successesToClose?: number;
  /** Errors this returns true for pass through without counting as failures (a 404, a caller abort). */
  exclude?: (err: unknown) => boolean;
  /**
   * Called instead of failing: when the breaker refuses a call (the error is a ResilienceError
   * RESILIENCE_BREAKER_OPEN) and when a counted failure happens. Its value becomes the result.
   */
  fallback?: (err: unknown) => unknown;
  /** State changes are counted in `code_breaker_transitions_total` and `code_breaker_state` reads them. */
  metrics?: MetricsRegistry;
  /** Clock in epoch ms; read only when the breaker is not closed. Default `Date.now()`. */
  now?: () => number;
}

/** What `export()` returns and `restore()` accepts: plain JSON. */
export interface BreakerSnapshot {
  version: 1;
  state: BreakerState;
  consecutiveFailures: number;
  /** Outcomes of the sliding window, oldest first: 0 success, 1 failure. */
  window: number[];
}

export interface BreakerStats {
  name: string;
  state: BreakerState;
  consecutiveFailures: number;
  windowCalls: number;
  windowFailures: number;
  successes: number;
  failures: number;
  rejected: number;
}

export type BreakerListener = (state: BreakerState, previous: BreakerState) => void;

const CLOSED = 0;
const HALF_OPEN = 1;
const OPEN = 2;
type Mode = typeof CLOSED | typeof HALF_OPEN | typeof OPEN;
type OpenReason = Extract<BreakerState, { kind: 'open' }>['reason'];

/** `until` of a breaker isolated without a duration: it stays open until `reset()`. */
export const ISOLATED_FOREVER = Number.MAX_SAFE_INTEGER;

interface BreakerInstruments {
  transitions: Counter;
  rejections: Counter;
  live: Map<string, CircuitBreaker>;
}
const instrumentsByRegistry = new WeakMap<MetricsRegistry, BreakerInstruments>();

function instrumentsFor(registry: MetricsRegistry): BreakerInstruments {
  let found = instrumentsByRegistry.get(registry);
  if (found) return found;
  const live = new Map<string, CircuitBreaker>();
  found = {
    live,
    transitions: registry.counter({ name: 'code_breaker_transitions_total', help: 'Circuit breaker state changes, by breaker and new state', labelNames: ['breaker', 'to'] }),
    rejections: registry.counter({ name: 'code_breaker_rejections_total', help: 'Calls refused because the breaker was open', labelNames: ['breaker'] }),
  };
  registry.gaugeCallback({
    name: 'code_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker'],
    collect: () => [...live.values()].map((b) => ({ labels: { breaker: b.name }, value: b.stateCode() })),
  });
  instrumentsByRegistry.set(registry, found);
  return found;
}

/**
 * Closed / open / half-open circuit breaker. The closed path is built to cost almost nothing: no
 * closure, no timer, no clock read, one derived promise; outcomes go to a ring buffer of bytes.
 *
 *   const breaker = new CircuitBreaker({ name: 'redis', exclude: (e) => hasCode(e, 'CACHE_MISS') });
 *   const value = await breaker.execute(() => redis.get(key));
 *   breaker.onChange((s) => log.warn({ state: s }, 'breaker changed'));
 */
export class CircuitBreaker implements Policy {
  readonly name: string;
  private mode: Mode = CLOSED;
  private openedAt = 0;
  private until = 0;
  private reason: OpenReason = 'failures';
  private trials = 0;
  private trialSuccesses = 0;
  /** Bumped on every transition, so trial outcomes of an older half-open phase are ignored. */
  private generation = 0;

  private consecutive = 0;
  private readonly ring: Uint8Array;
  private ringIndex = 0;
  private ringCount = 0;
  private ringFailures = 0;

  private successes = 0;
  private failures = 0;
  private rejected = 0;

  private readonly maxConsecutive: number;
  private readonly errorRate: number;
  private readonly minimumCalls: number;
  private readonly openMs: number;
  private readonly halfOpenTrials: number;
  private readonly successesToClose: number;
  private readonly exclude: ((err: unknown) => boolean) | undefined;
  private readonly fallback: ((err: unknown) => unknown) | undefined;
  private readonly now: () => number;
  private readonly instruments: BreakerInstruments | undefined;
  private listeners: BreakerListener[] = [];
  private readonly rejectionLabels: { breaker: string };

  // Bound once: the closed path hands these to `.then` instead of allocating closures per call.
  private readonly onClosedSuccess: (value: unknown) => unknown;
  private readonly onClosedFailure: (err: unknown) => unknown;

  constructor(options: CircuitBreakerOptions = {}) {
    this.name = options.name ?? 'breaker';
    this.rejectionLabels = { breaker: this.name };
    const p = `breaker ${this.name}`;
    this.maxConsecutive = checkNumber(p, 'consecutiveFailures', options.consecutiveFailures ?? 5, 1, 1e9);
    this.errorRate = checkNumber(p, 'errorRate', options.errorRate ?? 0.5, 0.000001, 1, false);
    const windowSize = checkNumber(p, 'windowSize', options.windowSize ?? 100, 1, 100_000);
    this.minimumCalls = checkNumber(p, 'minimumCalls', options.minimumCalls ?? 10, 1, windowSize);
    this.openMs = checkNumber(p, 'openMs', options.openMs ?? 60_000, 0, 365 * 24 * 3600_000);
    this.halfOpenTrials = checkNumber(p, 'halfOpenTrials', options.halfOpenTrials ?? 3, 1, 1e6);
    this.successesToClose = checkNumber(p, 'successesToClose', options.successesToClose ?? 3, 1, this.halfOpenTrials);
    this.ring = new Uint8Array(windowSize);
    this.exclude = options.exclude;
    this.fallback = options.fallback;
    this.now = options.now ?? (() => Date.now());
    this.onClosedSuccess = (value) => {
      if (this.mode === CLOSED) this.closedSuccess();
      return value;
    };
    this.onClosedFailure = (err) => this.closedFailure(err);
    if (options.metrics) {
      this.instruments = instrumentsFor(options.metrics);
      this.instruments.live.set(this.name, this);
    }
  }

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    if (this.mode !== CLOSED) return this.guarded(fn, signal, attempt);
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    let result: PromiseLike<T> | T;
    try {
      result = fn(contextFor(signal, attempt));
    } catch (err) {
      return this.settleSync(err);
    }
    // One derived promise, handlers bound once: the floor for observing an outcome. (Returning the
    // operation's own promise and observing on a side branch costs the same and would mark the
    // caller's rejections as handled, hiding unhandled rejections.)
    if (result instanceof Promise) return result.then(this.onClosedSuccess, this.onClosedFailure) as Promise<T>;
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<T>).then === 'function') {
      return Promise.resolve(result).then(this.onClosedSuccess, this.onClosedFailure) as Promise<T>;
    }
    this.onClosedSuccess(result);
    return Promise.resolve(result);
  }

  /** The state now (an open breaker whose time is up reads as half-open). */
  get state(): BreakerState {
    if (this.mode === OPEN && this.now() >= this.until) this.toHalfOpen();
    return this.current();
  }

  /** The state as recorded, without the lazy open → half-open step (no clock read, no event). */
  private current(): BreakerState {
    switch (this.mode) {
      case CLOSED:
        return { kind: 'closed' };
      case HALF_OPEN:
        return { kind: 'half-open', trials: this.trials, successes: this.trialSuccesses };
      default:
        return { kind: 'open', openedAt: this.openedAt, until: this.until, reason: this.reason };
    }
  }

  /** 0 closed, 1 half-open, 2 open: what the `code_breaker_state` gauge reports. */
  stateCode(): number {
    const kind = this.state.kind;
    return kind === 'closed' ? 0 : kind === 'half-open' ? 1 : 2;
  }

  /**
   * Opens the breaker by hand (the memory monitor sheds a dependency this way): every call is refused
   * until `reset()`, or for `durationMs` when given (then it goes half-open as usual).
   */
  isolate(durationMs?: number): void {
    const now = this.now();
    const until = durationMs === undefined ? ISOLATED_FOREVER : now + checkNumber(`breaker ${this.name}`, 'durationMs', durationMs, 0);
    this.toOpen('isolated', now, until);
  }

  /** Closes the breaker and forgets every recorded outcome. */
  reset(): void {
    this.toClosed();
  }

  /** Subscribes to state changes; returns the unsubscribe function. Listeners run synchronously. */
  onChange(listener: BreakerListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  export(): BreakerSnapshot {
    const window: number[] = [];
    const size = this.ring.length;
    const start = this.ringCount === size ? this.ringIndex : 0;
    for (let i = 0; i < this.ringCount; i++) window.push(this.ring[(start + i) % size]!);
    return { version: 1, state: this.state, consecutiveFailures: this.consecutive, window };
  }

  /** Restores an exported snapshot (from another process, or after a restart). Bad input throws RESILIENCE_STATE_INVALID. */
  restore(snapshot: unknown): void {
    const s = validateSnapshot(this.name, snapshot);
    const previous = this.current();
    this.ring.fill(0);
    this.ringIndex = 0;
    this.ringCount = 0;
    this.ringFailures = 0;
    for (const outcome of s.window.slice(-this.ring.length)) this.push(outcome);
    this.consecutive = s.consecutiveFailures;
    this.generation++;
    const st = s.state;
    if (st.kind === 'closed') this.mode = CLOSED;
    else if (st.kind === 'open') {
      this.mode = OPEN;
      this.openedAt = st.openedAt;
      this.until = st.until;
      this.reason = st.reason;
    } else {
      // In-flight trials of the exporting process are gone: only the successes carry over.
      this.mode = HALF_OPEN;
      this.trials = Math.min(st.successes, this.halfOpenTrials);
      this.trialSuccesses = Math.min(st.successes, this.successesToClose);
    }
    this.emit(previous);
  }

  stats(): BreakerStats {
    return {
      name: this.name,
      state: this.state,
      consecutiveFailures: this.consecutive,
      windowCalls: this.ringCount,
      windowFailures: this.ringFailures,
      successes: this.successes,
      failures: this.failures,
      rejected: this.rejected,
    };
  }

  /** Stops reporting this breaker in `code_breaker_state` (a per-origin breaker whose pool was dropped). */
  dispose(): void {
    if (this.instruments?.live.get(this.name) === this) this.instruments.live.delete(this.name);
  }

  // ---- low-level form --------------------------------------------------------------------------

  /**
   * The low-level form of `execute`, for a hot path that awaits the operation itself (the HTTP
   * client): no closure, no promise. `admit()` returns a permit (>= 0) when the call may go, or -1
   * when it may not (then throw `refusal()`); report the outcome with `succeeded` or `failed`.
   *
   *   const permit = breaker.admit();
   *   if (permit < 0) throw breaker.refusal();
   *   try { const r = await op(); breaker.succeeded(permit); return r; }
   *   catch (err) { breaker.failed(permit, err); throw err; }
   */
  admit(): number {
    if (this.mode === CLOSED) return 0;
    if (this.mode === OPEN) {
      if (this.now() < this.until) return -1;
      this.toHalfOpen();
    }
    if (this.trials >= this.halfOpenTrials) return -1;
    this.trials++;
    return this.generation; // >= 1: at least one transition led here
  }

  succeeded(permit: number): void {
    if (permit === 0) {
      if (this.mode === CLOSED) this.closedSuccess();
    } else if (permit === this.generation && this.mode === HALF_OPEN) {
      this.successes++;
      this.trialSuccesses++;
      if (this.trialSuccesses >= this.successesToClose) this.toClosed();
    }
  }

  /** Records a failure; false when it did not count (excluded, or from an older phase). */
  failed(permit: number, err: unknown): boolean {
    if (permit === 0) return this.mode === CLOSED && this.countClosedFailure(err);
    if (permit !== this.generation || this.mode !== HALF_OPEN) return false;
    if (this.exclude !== undefined && this.exclude(err)) {
      this.trials--; // the trial proved nothing: let another caller try
      return false;
    }
    this.failures++;
    this.toOpen('half-open-failure', this.now());
    return true;
  }

  /** The error for a refused call (counted in `rejected` and the metrics). */
  refusal(): ResilienceError {
    this.rejected++;
    this.instruments?.rejections.inc(this.rejectionLabels);
    const state = this.state;
    return new ResilienceError('RESILIENCE_BREAKER_OPEN', `circuit breaker ${this.name} is ${state.kind}: call refused`, {
      breaker: this.name,
      state: state.kind,
      ...(state.kind === 'open' ? { reason: state.reason, retryAfterMs: state.until === ISOLATED_FOREVER ? undefined : Math.max(0, state.until - this.now()) } : {}),
    });
  }

  // ---- closed path helpers -------------------------------------------------------------------

  private closedSuccess(): void {
    this.successes++;
    this.consecutive = 0;
    // The common case, a full window of successes: one more success changes no count, and where the
    // ring's cursor stands does not matter while every slot holds 0.
    if (this.ringFailures === 0 && this.ringCount === this.ring.length) return;
    this.push(0);
    // A success can only trip the breaker at the moment the window reaches its minimum volume.
    if (this.ringCount === this.minimumCalls && this.ringFailures >= this.errorRate * this.ringCount) this.toOpen('error-rate', this.now());
  }

  private push(outcome: number): void {
    const ring = this.ring;
    if (this.ringCount === ring.length) this.ringFailures -= ring[this.ringIndex]!;
    else this.ringCount++;
    ring[this.ringIndex] = outcome;
    this.ringFailures += outcome;
    this.ringIndex = this.ringIndex + 1 === ring.length ? 0 : this.ringIndex + 1;
  }

  private closedFailure(err: unknown): unknown {
    if (this.mode === CLOSED && this.countClosedFailure(err) && this.fallback !== undefined) return this.fallback(err);
    throw err;
  }

  /** Records a failure seen while closed; false when the error is excluded (not counted). */
  private countClosedFailure(err: unknown): boolean {
    if (this.exclude !== undefined && this.exclude(err)) return false;
    this.failures++;
    this.consecutive++;
    this.push(1);
    if (this.consecutive >= this.maxConsecutive) this.toOpen('failures', this.now());
    else if (this.ringCount >= this.minimumCalls && this.ringFailures >= this.errorRate * this.ringCount) this.toOpen('error-rate', this.now());
    return true;
  }

  private settleSync<T>(err: unknown): Promise<T> {
    try {
      return Promise.resolve(this.closedFailure(err) as T);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // ---- open and half-open ----------------------------------------------------------------------

  private guarded<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal: AbortSignal | undefined, attempt: number): Promise<T> {
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    const permit = this.admit();
    if (permit < 0) return this.refuse();
    if (permit === 0) return this.execute(fn, signal, attempt);
    return new Promise<T>((resolve) => resolve(fn(contextFor(signal, attempt)))).then(
      (value) => {
        this.succeeded(permit);
        return value;
      },
      (err) => {
        if (this.failed(permit, err) && this.fallback !== undefined) return this.fallback(err) as T;
        throw err;
      },
    );
  }

  private refuse<T>(): Promise<T> {
    const err = this.refusal();
    if (this.fallback !== undefined) {
      try {
        return Promise.resolve(this.fallback(err) as T);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return Promise.reject(err);
  }

  private toOpen(reason: OpenReason, now: number, until = now + this.openMs): void {
    const previous = this.current();
    this.mode = OPEN;
    this.reason = reason;
    this.openedAt = now;
    this.until = until;
    this.generation++;
    this.emit(previous);
  }

  private toHalfOpen(): void {
    const previous = this.current();
    this.mode = HALF_OPEN;
    this.trials = 0;
    this.trialSuccesses = 0;
    this.generation++;
    this.emit(previous);
  }

  private toClosed(): void {
    const previous = this.mode === CLOSED ? undefined : this.current();
    this.mode = CLOSED;
    this.consecutive = 0;
    this.ring.fill(0);
    this.ringIndex = 0;
    this.ringCount = 0;
    this.ringFailures = 0;
    this.generation++;
    if (previous) this.emit(previous);
  }

  private emit(previous: BreakerState): void {
    const state = this.current();
    if (state.kind === previous.kind && state.kind !== 'open') return;
    this.instruments?.transitions.inc({ breaker: this.name, to: state.kind });
    for (const listener of this.listeners) {
      try {
        listener(state, previous);
      } catch (err) {
        // A broken listener must not break the breaker; it still deserves to be seen.
        process.emitWarning(`breaker ${this.name}: state listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

const OPEN_REASONS = new Set(['failures', 'error-rate', 'isolated', 'half-open-failure']);

function validateSnapshot(name: string, input: unknown): BreakerSnapshot {
  const fail = (why: string): never => {
    throw new ResilienceError('RESILIENCE_STATE_INVALID', `breaker ${name}: cannot restore snapshot: ${why}`, { breaker: name, why });
  };
  if (typeof input !== 'object' || input === null) return fail('not an object');
  const s = input as Record<string, unknown>;
  if (s.version !== 1) fail(`version must be 1, got ${String(s.version)}`);
  const num = (v: unknown, key: string): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(`${key} must be a finite number >= 0`));
  if (!Number.isInteger(s.consecutiveFailures) || (s.consecutiveFailures as number) < 0) fail('consecutiveFailures must be an integer >= 0');
  if (!Array.isArray(s.window) || s.window.length > 100_000) fail('window must be an array of at most 100000 outcomes');
  for (const o of s.window as unknown[]) if (o !== 0 && o !== 1) fail('window outcomes must be 0 or 1');
  const st = s.state as Record<string, unknown> | null;
  if (typeof st !== 'object' || st === null) return fail('state must be an object');
  if (st.kind === 'closed') return s as unknown as BreakerSnapshot;
  if (st.kind === 'open') {
    num(st.openedAt, 'state.openedAt');
    num(st.until, 'state.until');
    if (!OPEN_REASONS.has(st.reason as string)) fail(`state.reason must be one of ${[...OPEN_REASONS].join(', ')}`);
    return s as unknown as BreakerSnapshot;
  }
  if (st.kind === 'half-open') {
    num(st.trials, 'state.trials');
    num(st.successes, 'state.successes');
    return s as unknown as BreakerSnapshot;
  }
  return fail(`state.kind must be closed, open or half-open, got ${String(st.kind)}`);
}
