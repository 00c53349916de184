import { abortReason } from './context.js';
import { ResilienceError } from './errors.js';
import type { ResilienceErrorCode } from './errors.js';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  enqueuedAt: number;
  settled: boolean;
}

export interface GateStats {
  /** Calls running now. */
  active: number;
  /** Calls waiting for a slot. */
  queued: number;
  /** Concurrent calls allowed now. */
  limit: number;
  maxQueue: number;
  /** Calls refused because the queue was full. */
  rejected: number;
  /** Calls that gave up after waiting `maxWaitMs`. */
  waitTimeouts: number;
}

/**
 * A counting semaphore with a bounded FIFO queue and a bounded wait: the common core of Bulkhead and
 * AdaptiveLimit. A free slot is taken synchronously (no promise); only a queued caller allocates.
 */
export class Gate {
  protected active = 0;
  protected limit: number;
  protected readonly maxQueue: number;
  protected readonly maxWaitMs: number;
  protected readonly name: string;
  private readonly fullCode: ResilienceErrorCode;
  private waiters: Waiter[] = [];
  private head = 0;
  private queued = 0;
  private rejected = 0;
  private waitTimeouts = 0;
  /** Called with the time a queued caller waited, when it gets its slot (pool-wait metrics). */
  onAdmitted: ((waitedMs: number) => void) | undefined;

  constructor(name: string, limit: number, maxQueue: number, maxWaitMs: number, fullCode: ResilienceErrorCode) {
    this.name = name;
    this.limit = limit;
    this.maxQueue = maxQueue;
    this.maxWaitMs = maxWaitMs;
    this.fullCode = fullCode;
  }

  /** Takes a slot: returns true at once when one is free, else a promise that resolves when granted. Release with `release()`. */
  acquire(signal?: AbortSignal): true | Promise<void> {
    if (this.active < this.limit && this.queued === 0) {
      this.active++;
      return true;
    }
    return this.enqueue(signal);
  }

  /** Takes a slot only if one is free now; never queues. */
  tryAcquire(): boolean {
    if (this.active < this.limit && this.queued === 0) {
      this.active++;
      return true;
    }
    return false;
  }

  release(): void {
    this.active--;
    if (this.queued > 0) this.drain();
  }

  gateStats(): GateStats {
    return { active: this.active, queued: this.queued, limit: this.limit, maxQueue: this.maxQueue, rejected: this.rejected, waitTimeouts: this.waitTimeouts };
  }

  protected drain(): void {
    while (this.active < this.limit && this.queued > 0) {
      const w = this.waiters[this.head]!;
      this.waiters[this.head] = undefined as unknown as Waiter;
      this.head++;
      if (w.settled) continue;
      this.queued--;
      this.settle(w);
      this.active++;
      this.onAdmitted?.(performance.now() - w.enqueuedAt);
      w.resolve();
    }
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    } else if (this.queued === 0) {
      this.waiters.length = 0;
      this.head = 0;
    }
  }

  private enqueue(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.queued >= this.maxQueue) {
      this.rejected++;
      return Promise.reject(
        new ResilienceError(this.fullCode, `${this.name}: ${this.active} calls running (limit ${this.limit}) and ${this.queued} queued (max ${this.maxQueue}): call refused`, {
          policy: this.name,
          active: this.active,
          limit: this.limit,
          queued: this.queued,
          maxQueue: this.maxQueue,
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined, signal, onAbort: undefined, enqueuedAt: performance.now(), settled: false };
      if (this.maxWaitMs !== Infinity) {
        w.timer = setTimeout(() => {
          this.abandon(w);
          this.waitTimeouts++;
          reject(new ResilienceError('RESILIENCE_BULKHEAD_WAIT', `${this.name}: waited ${this.maxWaitMs} ms for a free slot (limit ${this.limit})`, { policy: this.name, maxWaitMs: this.maxWaitMs, limit: this.limit }));
        }, this.maxWaitMs);
      }
      if (signal) {
        w.onAbort = () => {
          this.abandon(w);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.queued++;
    });
  }

  private abandon(w: Waiter): void {
    if (w.settled) return;
    this.settle(w);
    this.queued--;
  }

  private settle(w: Waiter): void {
    w.settled = true;
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
  }
}
