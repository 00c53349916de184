import type { ExecuteContext } from './types.js';

/** A signal nobody aborts: handed to operations run without a caller signal, so `ctx.signal` is always there. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** The context of a first attempt without a caller signal: shared, so the hot path allocates nothing. */
export const FIRST_ATTEMPT: ExecuteContext = Object.freeze({ signal: NEVER_ABORTED, attempt: 1 });

export function contextFor(signal: AbortSignal | undefined, attempt: number): ExecuteContext {
  return signal === undefined && attempt === 1 ? FIRST_ATTEMPT : { signal: signal ?? NEVER_ABORTED, attempt };
}

/** The reason an aborted signal carries, as something throwable. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
