/**
 * The one primitive of resilience, after cockatiel: a policy runs a function and may refuse, retry,
 * time out or queue it. Policies compose with `wrap(outer, ..., inner)` (see compose.ts).
 *
 *   const policy = wrap(retry, breaker, timeout);
 *   const body = await policy.execute(({ signal }) => client.request(url, { signal }));
 */
export interface ExecuteContext {
  /** Aborted when the caller gives up or a timeout policy fires; pass it to the I/O. */
  signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry... */
  attempt: number;
}

export interface Policy {
  /**
   * Runs `fn` under this policy. `attempt` is passed down by an outer retry through `wrap(...)`
   * (policies that do not care may ignore it).
   */
  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt?: number): Promise<T>;
}

/** Circuit breaker state, serialisable to JSON for export/restore and the dashboard. */
export type BreakerState =
  | { kind: 'closed' }
  | { kind: 'open'; openedAt: number; until: number; reason: 'failures' | 'error-rate' | 'isolated' | 'half-open-failure' }
  | { kind: 'half-open'; trials: number; successes: number };
