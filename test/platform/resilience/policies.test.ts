import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AdaptiveLimit,
  Bulkhead,
  CircuitBreaker,
  Retry,
  Timeout,
  backoffDelay,
  idempotent,
  isResilienceError,
  parseRetryAfter,
  wrap,
} from '../../../src/platform/resilience/index.js';

/** Lets pending promise callbacks run (fake timers do not advance microtasks by themselves). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('Timeout', () => {
  it('rejects a slow operation with RESILIENCE_TIMEOUT and aborts its signal with the same error', async () => {
    const t = new Timeout(20);
    let seen: AbortSignal | undefined;
    const err = await t
      .execute(({ signal }) => {
        seen = signal;
        return new Promise(() => {}); // never settles, ignores the signal: the timeout still fires
      })
      .catch((e: unknown) => e);
    assert.ok(isResilienceError(err, 'RESILIENCE_TIMEOUT'));
    assert.equal(seen!.aborted, true);
    assert.equal(seen!.reason, err);
  });

  it('passes a fast result through and forwards the caller abort', async () => {
    const t = new Timeout(1_000);
    assert.equal(await t.execute(async () => 'fast'), 'fast');
    const ac = new AbortController();
    const p = t.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), ac.signal);
    ac.abort(new Error('caller left'));
    await assert.rejects(p, /caller left/);
  });

  it('rejects bad durations', () => {
    assert.throws(() => new Timeout(0), (e: unknown) => isResilienceError(e, 'RESILIENCE_OPTIONS_INVALID'));
  });
});

describe('Retry', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it('never retries an operation not marked idempotent', async () => {
    const r = new Retry({ maxAttempts: 5 });
    let calls = 0;
    await assert.rejects(
      r.execute(async () => {
        calls++;
        throw new Error('post failed');
      }),
      /post failed/,
    );
    assert.equal(calls, 1);
  });

  it('retries marked operations with full-jitter exponential backoff, then rethrows the last error', async () => {
    const delays: number[] = [];
    const r = new Retry({ maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, random: () => 0.5, onRetry: (i) => delays.push(i.delayMs) });
    const attempts: number[] = [];
    const p = r.execute(
      idempotent(async ({ attempt }) => {
        attempts.push(attempt);
        throw new Error(`fail ${attempt}`);
      }),
    );
    const settled = p.catch((e: unknown) => e);
    for (let i = 0; i < 4; i++) {
      await flush();
      mock.timers.tick(250);
    }
    const err = await settled;
    assert.equal((err as Error).message, 'fail 4');
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.deepEqual(delays, [50, 100, 125]); // 0.5 × min(250, 100·2^(n-1))
  });

  it('waits at least the Retry-After the error carries', async () => {
    const r = new Retry({ maxAttempts: 2, baseDelayMs: 10, random: () => 0, idempotent: true });
    let calls = 0;
    const p = r.execute(async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('429'), { retryAfterMs: 2_000 });
      return 'done';
    });
    await flush();
    mock.timers.tick(1_999);
    await flush();
    assert.equal(calls, 1, 'must not retry before Retry-After');
    mock.timers.tick(1);
    assert.equal(await p, 'done');
    assert.equal(calls, 2);
  });

  it('gives up when the wait would cross maxElapsedMs', async () => {
    const r = new Retry({ maxAttempts: 5, maxElapsedMs: 1_000, idempotent: true });
    let calls = 0;
    await assert.rejects(
      r.execute(async () => {
        calls++;
        throw Object.assign(new Error('503'), { details: { retryAfterMs: 5_000 } });
      }),
      /503/,
    );
    assert.equal(calls, 1);
  });

  it('does not retry an open breaker and stops waiting when the caller aborts', async () => {
    const r = new Retry({ maxAttempts: 5, idempotent: true });
    const b = new CircuitBreaker();
    b.isolate();
    let calls = 0;
    await assert.rejects(
      r.execute(() => {
        calls++;
        return b.execute(async () => 1);
      }),
      (e: unknown) => isResilienceError(e, 'RESILIENCE_BREAKER_OPEN'),
    );
    assert.equal(calls, 1);

    const ac = new AbortController();
    const p = r.execute(async () => {
      throw new Error('again');
    }, ac.signal);
    await flush();
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
  });
});

describe('Retry-After and backoff helpers', () => {
  it('parses delay-seconds and HTTP dates, and refuses garbage', () => {
    assert.equal(parseRetryAfter('120'), 120_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
    assert.equal(parseRetryAfter(['3', '9']), 3_000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('99999999'), 86_400_000);
  });

  it('draws the full-jitter delay in [0, min(cap, base·2^(n-1))]', () => {
    assert.equal(backoffDelay(1, 100, 10_000, () => 0.999999), 99);
    assert.equal(backoffDelay(8, 100, 10_000, () => 0.999999), 9_999);
    assert.equal(backoffDelay(3, 100, 10_000, () => 0), 0);
  });
});

describe('Bulkhead', () => {
  it('caps concurrency, queues in order and refuses beyond the queue', async () => {
    const b = new Bulkhead({ maxConcurrent: 2, maxQueue: 2, maxWaitMs: 5_000 });
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      active++;
      peak = Math.max(peak, active);
      await delay(10);
      order.push(i);
      active--;
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => b.execute(task(i))));
    assert.equal(peak, 2);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)),
      [0, 1, 2, 3, 'RESILIENCE_BULKHEAD_FULL'],
    );
    assert.deepEqual(order.slice(2), [2, 3]);
    assert.deepEqual(b.stats(), { active: 0, queued: 0, limit: 2, maxQueue: 2, rejected: 1, waitTimeouts: 0 });
  });

  it('fails a queued call after maxWaitMs, and drops an aborted one from the queue', async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWaitMs: 20 });
    let release!: () => void;
    const holder = b.execute(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(b.execute(async () => 1), (e: unknown) => isResilienceError(e, 'RESILIENCE_BULKHEAD_WAIT'));
    const ac = new AbortController();
    const queued = b.execute(async () => 'never', ac.signal);
    assert.equal(b.stats().queued, 1);
    ac.abort(new Error('bye'));
    await assert.rejects(queued, /bye/);
    assert.equal(b.stats().queued, 0);
    release();
    await holder;
    assert.equal(await b.execute(async () => 'free again'), 'free again');
  });
});

describe('AdaptiveLimit', () => {
  it('grows additively while in use and shrinks multiplicatively on drops', async () => {
    const limit = new AdaptiveLimit({ initial: 4, min: 2, max: 8, maxQueue: 100, maxWaitMs: 5_000 });
    await Promise.all(Array.from({ length: 40 }, () => limit.execute(() => delay(1))));
    assert.equal(limit.currentLimit, 8, 'full use and no drops: grows to max');
    for (let i = 0; i < 5; i++) await assert.rejects(limit.execute(() => Promise.reject(new Error('overloaded'))));
    // 8 · 0.9^5 = 4.72 → 4
    assert.equal(limit.currentLimit, 4);
    assert.equal(limit.stats().drops, 5);
  });

  it('treats a success slower than latencyThresholdMs as a drop', async () => {
    const limit = new AdaptiveLimit({ initial: 10, max: 10, latencyThresholdMs: 5 });
    await limit.execute(() => delay(30));
    assert.equal(limit.currentLimit, 9);
  });

  it('lets the memory monitor lower and restore the ceiling; excess calls fail fast', async () => {
    const limit = new AdaptiveLimit({ initial: 6, max: 6 });
    limit.setCeiling(2);
    assert.equal(limit.currentLimit, 2);
    const gates: Array<() => void> = [];
    const hold = () => new Promise<void>((r) => gates.push(r));
    const running = [limit.execute(hold), limit.execute(hold)];
    await assert.rejects(limit.execute(hold), (e: unknown) => isResilienceError(e, 'RESILIENCE_LIMIT_EXCEEDED'));
    for (const g of gates) g();
    await Promise.all(running);
    limit.setCeiling(undefined);
    assert.equal(limit.stats().ceiling, 6);
    assert.ok(limit.currentLimit <= 6);
  });
});

describe('wrap', () => {
  it('composes retry ∘ breaker ∘ timeout: a fresh timeout per attempt, every attempt seen by the breaker', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 10 });
    const policy = wrap(new Retry({ maxAttempts: 3, baseDelayMs: 1 }), breaker, new Timeout(30));
    const attempts: number[] = [];
    const value = await policy.execute(
      idempotent(async ({ attempt, signal }) => {
        attempts.push(attempt);
        if (attempt < 3) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        return `attempt ${attempt}`;
      }),
    );
    assert.equal(value, 'attempt 3');
    assert.deepEqual(attempts, [1, 2, 3]);
    const s = breaker.stats();
    assert.equal(s.failures, 2, 'each timed-out attempt counts once');
    assert.equal(s.successes, 1);
  });

  it('keeps an unmarked operation unretried inside the composition', async () => {
    const policy = wrap(new Retry({ maxAttempts: 3, baseDelayMs: 1 }), new Timeout(1_000));
    let calls = 0;
    await assert.rejects(
      policy.execute(async () => {
        calls++;
        throw new Error('not idempotent');
      }),
    );
    assert.equal(calls, 1);
  });

  it('stops retrying once the breaker opens', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 2 });
    const policy = wrap(new Retry({ maxAttempts: 5, baseDelayMs: 1, idempotent: true }), breaker);
    let calls = 0;
    await assert.rejects(
      policy.execute(async () => {
        calls++;
        throw new Error('down');
      }),
      (e: unknown) => isResilienceError(e, 'RESILIENCE_BREAKER_OPEN'),
    );
    assert.equal(calls, 2);
  });
});
