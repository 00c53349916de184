import { abortReason } from './context.js';
import { ResilienceError, checkNumber } from './errors.js';
import type { ExecuteContext, Policy } from './types.js';

/**
 * Gives the operation `ms` milliseconds. At the deadline the operation's `ctx.signal` is aborted with a
 * RESILIENCE_TIMEOUT error and the returned promise rejects with it, whether or not the operation
 * listens to the signal (so a stuck call never holds its caller).
 *
 *   const t = new Timeout(2_000);
 *   await t.execute(({ signal }) => client.request(url, { signal }));
 */
export class Timeout implements Policy {
  readonly ms: number;
  private readonly name: string;

  constructor(ms: number, options: { name?: string } = {}) {
    this.name = options.name ?? 'timeout';
    this.ms = checkNumber(`timeout ${this.name}`, 'ms', ms, 1, 2_147_483_647);
  }

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal?: AbortSignal, attempt = 1): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onParentAbort);
        return true;
      };
      const onParentAbort = (): void => {
        if (!finish()) return;
        const reason = abortReason(signal!);
        controller.abort(reason);
        reject(reason);
      };
      const timer = setTimeout(() => {
        if (!finish()) return;
        const err = new ResilienceError('RESILIENCE_TIMEOUT', `${this.name}: operation took longer than ${this.ms} ms`, { policy: this.name, timeoutMs: this.ms, attempt });
        controller.abort(err);
        reject(err);
      }, this.ms);
      signal?.addEventListener('abort', onParentAbort, { once: true });
      let result: PromiseLike<T> | T;
      try {
        result = fn({ signal: controller.signal, attempt });
      } catch (err) {
        if (finish()) reject(err);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          if (finish()) resolve(value);
        },
        (err) => {
          if (finish()) reject(err);
        },
      );
    });
  }
}
