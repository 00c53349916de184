/**
 * Runs many async tasks (HTTP requests or anything else) with bounded concurrency, a per-item timeout
 * and cancellation, and hands back settled results in input order.
 *
 *   const results = await batch(urls, (url, { signal }) => http.getJson(url, { signal }), { concurrency: 8, itemTimeoutMs: 5_000 });
 *   for await (const r of batchStream(readLines(file), check, { concurrency: 32 })) report(r);
 *
 * `batchStream` pulls its input lazily and keeps at most `window` items between the one it will
 * yield next and the newest one started, so memory stays flat for any number of items.
 */
import { NetError } from './errors.js';

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
export type IndexedSettled<T> = Settled<T> & { index: number };

export interface BatchOptions {
  /** Tasks running at once. Default 8, at most 10 000. */
  concurrency?: number;
  /** Each task gets this long; then its signal aborts and its result is a NET_BATCH_ITEM_TIMEOUT error. Default: none. */
  itemTimeoutMs?: number;
  /** Aborting it aborts the running tasks and starts no more (their results: NET_BATCH_CANCELLED). */
  signal?: AbortSignal;
  /**
   * Items started but not yet yielded (the reorder buffer behind a slow item). Default 4 × concurrency.
   * A slow head item holds back at most this many finished results.
   */
  window?: number;
}

export interface TaskContext {
  /** Aborted on the item's timeout or on the batch's cancellation: pass it to the I/O. */
  signal: AbortSignal;
  /** Position of the item in the input, from 0. */
  index: number;
}

interface Slot<R> {
  index: number;
  result: Settled<R> | undefined;
  /** Own controller only with a per-item timeout; otherwise the batch's shared one. */
  controller: AbortController | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function checkInt(key: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new NetError('NET_OPTIONS_INVALID', `batch: option ${key} must be an integer between ${min} and ${max}, got ${String(v)}`, { key, value: String(v), min, max });
  }
  return v;
}

/** Settled results in input order, one per item (for an array input, cancelled items included). */
export async function batch<I, R>(
  items: Iterable<I> | AsyncIterable<I>,
  task: (item: I, ctx: TaskContext) => PromiseLike<R> | R,
  options: BatchOptions = {},
): Promise<Array<Settled<R>>> {
  const out: Array<Settled<R>> = [];
  for await (const r of batchStream(items, task, options)) out.push(r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error });
  if (options.signal?.aborted && Array.isArray(items)) {
    for (let i = out.length; i < items.length; i++) out.push({ ok: false, error: cancelled(i, options.signal) });
  }
  return out;
}

/**
 * Yields `{ index, ok, value | error }` in input order as results become available. On abort, the
 * running items settle as NET_BATCH_CANCELLED at once and the stream ends after them; unstarted items
 * are never pulled from the input.
 */
export async function* batchStream<I, R>(
  items: Iterable<I> | AsyncIterable<I>,
  task: (item: I, ctx: TaskContext) => PromiseLike<R> | R,
  options: BatchOptions = {},
): AsyncGenerator<IndexedSettled<R>, void, undefined> {
  const concurrency = checkInt('concurrency', options.concurrency ?? 8, 1, 10_000);
  const window = checkInt('window', options.window ?? concurrency * 4, concurrency, 1_000_000);
  const itemTimeoutMs = options.itemTimeoutMs === undefined ? 0 : checkInt('itemTimeoutMs', options.itemTimeoutMs, 1, 2_147_483_647);
  const signal = options.signal;
  // Without per-item timeouts every task shares one signal: an AbortController per item would be
  // most of the cost of a cheap task.
  const shared = new AbortController();

  const asyncIt = (items as AsyncIterable<I>)[Symbol.asyncIterator];
  const iterator: Iterator<I> | AsyncIterator<I> = asyncIt ? asyncIt.call(items) : (items as Iterable<I>)[Symbol.iterator]();
  const ring: Array<Slot<R> | undefined> = new Array(window);
  let started = 0; // index of the next item to start
  let emitted = 0; // index of the next result to yield
  let running = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const settle = (slot: Slot<R>, result: Settled<R>): void => {
    if (slot.result !== undefined) return;
    slot.result = result;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    running--;
    notify();
  };

  const onAbort = (): void => {
    shared.abort(signal!.reason);
    for (let i = emitted; i < started; i++) {
      const slot = ring[i % window]!;
      if (slot.result === undefined) {
        slot.controller?.abort(signal!.reason);
        settle(slot, { ok: false, error: cancelled(slot.index, signal!) });
      }
    }
    notify();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const start = (item: I): void => {
    const index = started++;
    const controller = itemTimeoutMs > 0 ? new AbortController() : undefined;
    const slot: Slot<R> = { index, result: undefined, controller, timer: undefined };
    ring[index % window] = slot;
    running++;
    if (controller !== undefined) {
      if (signal?.aborted) controller.abort(signal.reason);
      slot.timer = setTimeout(() => {
        const err = new NetError('NET_BATCH_ITEM_TIMEOUT', `batch item ${index} took longer than ${itemTimeoutMs} ms`, { index, itemTimeoutMs });
        controller.abort(err);
        settle(slot, { ok: false, error: err });
      }, itemTimeoutMs);
    }
    let p: PromiseLike<R> | R;
    try {
      p = task(item, { signal: (controller ?? shared).signal, index });
    } catch (error) {
      settle(slot, { ok: false, error });
      return;
    }
    Promise.resolve(p).then(
      (value) => settle(slot, { ok: true, value }),
      (error: unknown) => settle(slot, { ok: false, error }),
    );
  };

  try {
    for (;;) {
      // Start as much as the concurrency and the reorder window allow.
      while (!exhausted && !signal?.aborted && running < concurrency && started - emitted < window) {
        const next = await iterator.next();
        if (next.done) exhausted = true;
        else if (signal?.aborted) break; // aborted while we waited for the input
        else start(next.value);
      }
      // Yield every result that is ready, in order.
      let yielded = false;
      while (emitted < started) {
        const slot = ring[emitted % window]!;
        if (slot.result === undefined) break;
        ring[emitted % window] = undefined;
        emitted++;
        yielded = true;
        yield { index: slot.index, ...slot.result };
      }
      if (emitted === started && (exhausted || signal?.aborted)) return;
      if (yielded) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Stopped early (the consumer broke out, or threw): abort what still runs, close the input.
    if (emitted < started) {
      const stop = new NetError('NET_BATCH_CANCELLED', 'batch stopped before these items finished', { from: emitted, to: started - 1 });
      shared.abort(stop);
      for (let i = emitted; i < started; i++) {
        const slot = ring[i % window];
        if (slot && slot.result === undefined) {
          slot.controller?.abort(stop);
          if (slot.timer !== undefined) clearTimeout(slot.timer);
        }
      }
    }
    if (!exhausted) await iterator.return?.();
  }
}

function cancelled(index: number, signal: AbortSignal): NetError {
  return new NetError('NET_BATCH_CANCELLED', `batch aborted before item ${index} finished`, { index }, { cause: signal.reason });
}
