import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { CircuitBreaker, ISOLATED_FOREVER, isResilienceError } from '../../../src/platform/resilience/index.js';
import type { BreakerState } from '../../../src/platform/resilience/index.js';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const ok = (): Promise<string> => Promise.resolve('ok');

async function failTimes(b: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(b.execute(boom), /boom/);
}

async function refused(b: CircuitBreaker): Promise<void> {
  let called = false;
  await assert.rejects(
    b.execute(() => {
      called = true;
      return ok();
    }),
    (e: unknown) => isResilienceError(e, 'RESILIENCE_BREAKER_OPEN'),
  );
  assert.equal(called, false, 'a refused call must not run the operation');
}

describe('CircuitBreaker state machine (fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('opens after 5 consecutive failures and refuses calls without running them', async () => {
    const b = new CircuitBreaker({ name: 'c' });
    await failTimes(b, 4);
    assert.equal(b.state.kind, 'closed');
    await b.execute(ok); // a success resets the run
    await failTimes(b, 4);
    assert.equal(b.state.kind, 'closed');
    await failTimes(b, 1);
    assert.deepEqual(b.state, { kind: 'open', openedAt: 1_000_000, until: 1_060_000, reason: 'failures' });
    await refused(b);
    assert.equal(b.stats().rejected, 1);
  });

  it('opens on the error rate of the window once the minimum volume is reached, not before', async () => {
    const b = new CircuitBreaker({ name: 'rate' });
    // F S F S F S F S F: 5 failures of 9 calls, never 5 in a row, under the minimum of 10.
    for (let i = 0; i < 9; i++) {
      if (i % 2 === 0) await assert.rejects(b.execute(boom));
      else await b.execute(ok);
    }
    assert.equal(b.state.kind, 'closed');
    await b.execute(ok); // 10th call: 5 / 10 = 50 %
    const s = b.state;
    assert.equal(s.kind, 'open');
    assert.equal((s as { reason?: string }).reason, 'error-rate');
  });

  it('does not open below the error rate, and the window slides over the last 100 calls', async () => {
    const b = new CircuitBreaker({ name: 'slide' });
    // S S F S F S ... : 49 failures in 100 calls, under 50 % at every prefix, never 2 in a row.
    for (let i = 0; i < 100; i++) {
      if (i >= 2 && i % 2 === 0) await assert.rejects(b.execute(boom));
      else await b.execute(ok);
    }
    assert.equal(b.state.kind, 'closed');
    assert.equal(b.stats().windowCalls, 100);
    assert.equal(b.stats().windowFailures, 49);
    // One more failure pushes out the oldest success: 50 of the last 100 → open.
    await assert.rejects(b.execute(boom));
    assert.equal(b.stats().windowCalls, 100);
    assert.equal(b.state.kind, 'open');
  });

  it('goes half-open after 60 s, lets 3 trials through, closes after 3 successes', async () => {
    const b = new CircuitBreaker({ name: 'h' });
    const seen: Array<[BreakerState['kind'], BreakerState['kind']]> = [];
    b.onChange((s, prev) => seen.push([prev.kind, s.kind]));
    await failTimes(b, 5);
    mock.timers.tick(59_999);
    await refused(b);
    mock.timers.tick(1);
    assert.deepEqual(b.state, { kind: 'half-open', trials: 0, successes: 0 });

    // Three slow trials are let through; a fourth concurrent call is refused.
    const gates: Array<() => void> = [];
    const trial = (): Promise<string> => new Promise((resolve) => gates.push(() => resolve('t')));
    const trials = [b.execute(trial), b.execute(trial), b.execute(trial)];
    assert.deepEqual(b.state, { kind: 'half-open', trials: 3, successes: 0 });
    await refused(b);
    for (const open of gates) open();
    assert.deepEqual(await Promise.all(trials), ['t', 't', 't']);
    assert.deepEqual(b.state, { kind: 'closed' });
    assert.deepEqual(seen, [
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
    // Closed again with a clean record: 4 failures do not reopen it.
    await failTimes(b, 4);
    assert.equal(b.state.kind, 'closed');
  });

  it('reopens for another full period on any failed trial', async () => {
    const b = new CircuitBreaker({ name: 'r' });
    await failTimes(b, 5);
    mock.timers.tick(60_000);
    await b.execute(ok);
    await assert.rejects(b.execute(boom), /boom/);
    assert.deepEqual(b.state, { kind: 'open', openedAt: 1_060_000, until: 1_120_000, reason: 'half-open-failure' });
    await refused(b);
  });

  it('ignores the outcome of a trial from an older half-open phase', async () => {
    const b = new CircuitBreaker({ name: 'stale', halfOpenTrials: 2, successesToClose: 1 });
    await failTimes(b, 5);
    mock.timers.tick(60_000);
    let release!: () => void;
    const slow = b.execute(() => new Promise<string>((r) => (release = () => r('late'))));
    await assert.rejects(b.execute(boom)); // the second trial fails: reopened
    assert.equal(b.state.kind, 'open');
    release();
    assert.equal(await slow, 'late');
    assert.equal(b.state.kind, 'open', 'a success from the previous phase must not close the breaker');
  });

  it('does not count excluded errors, in closed or half-open state', async () => {
    class NotFound extends Error {}
    const b = new CircuitBreaker({ name: 'x', exclude: (e) => e instanceof NotFound });
    for (let i = 0; i < 20; i++) await assert.rejects(b.execute(() => Promise.reject(new NotFound('nf'))), NotFound);
    assert.equal(b.state.kind, 'closed');
    assert.equal(b.stats().windowCalls, 0);
    await failTimes(b, 5);
    mock.timers.tick(60_000);
    await assert.rejects(b.execute(() => Promise.reject(new NotFound('nf'))), NotFound);
    assert.deepEqual(b.state, { kind: 'half-open', trials: 0, successes: 0 }, 'an excluded error frees its trial slot');
  });

  it('answers with the fallback when refusing and on counted failures', async () => {
    const errors: unknown[] = [];
    const b = new CircuitBreaker({
      name: 'fb',
      consecutiveFailures: 2,
      fallback: (e) => {
        errors.push(e);
        return 'fallback';
      },
    });
    assert.equal(await b.execute(boom), 'fallback');
    assert.equal(await b.execute(boom), 'fallback');
    assert.equal(b.state.kind, 'open');
    assert.equal(await b.execute(ok), 'fallback');
    assert.equal((errors[0] as Error).message, 'boom');
    assert.ok(isResilienceError(errors[2], 'RESILIENCE_BREAKER_OPEN'));
  });

  it('isolate() holds it open until reset(); isolate(ms) for a while', async () => {
    const b = new CircuitBreaker({ name: 'iso' });
    b.isolate();
    assert.deepEqual(b.state, { kind: 'open', openedAt: 1_000_000, until: ISOLATED_FOREVER, reason: 'isolated' });
    mock.timers.tick(7 * 86_400_000);
    await refused(b);
    b.reset();
    assert.equal(await b.execute(ok), 'ok');
    b.isolate(5_000);
    mock.timers.tick(5_000);
    assert.equal(b.state.kind, 'half-open');
  });

  it('exports and restores its state as JSON, and rejects bad snapshots clearly', async () => {
    const a = new CircuitBreaker({ name: 'a' });
    await a.execute(ok);
    await failTimes(a, 5);
    const json = JSON.parse(JSON.stringify(a.export()));
    const b = new CircuitBreaker({ name: 'b' });
    const seen: string[] = [];
    b.onChange((s) => seen.push(s.kind));
    b.restore(json);
    assert.deepEqual(b.state, a.state);
    assert.deepEqual(b.export(), a.export());
    assert.deepEqual(seen, ['open']);
    await refused(b);

    assert.throws(() => b.restore({ version: 2 }), (e: unknown) => isResilienceError(e, 'RESILIENCE_STATE_INVALID') && /version must be 1/.test((e as Error).message));
    assert.throws(() => b.restore({ version: 1, consecutiveFailures: 0, window: [0, 2], state: { kind: 'closed' } }), /window outcomes must be 0 or 1/);
    assert.throws(() => b.restore({ version: 1, consecutiveFailures: 0, window: [], state: { kind: 'open', openedAt: 1, until: 2, reason: 'nope' } }), /state.reason must be one of/);
    assert.throws(() => b.restore('closed'), /not an object/);
  });

  it('runs the same state machine through the permit form (admit / succeeded / failed / refusal)', () => {
    const b = new CircuitBreaker({ name: 'p', consecutiveFailures: 2, halfOpenTrials: 2, successesToClose: 2 });
    const p1 = b.admit();
    assert.equal(p1, 0);
    assert.equal(b.failed(p1, new Error('x')), true);
    assert.equal(b.failed(b.admit(), new Error('y')), true);
    assert.equal(b.state.kind, 'open');
    assert.equal(b.admit(), -1);
    assert.ok(isResilienceError(b.refusal(), 'RESILIENCE_BREAKER_OPEN'));
    assert.equal(b.stats().rejected, 1);
    mock.timers.tick(60_000);
    const t1 = b.admit();
    const t2 = b.admit();
    assert.ok(t1 > 0 && t2 > 0, 'trial permits');
    assert.equal(b.admit(), -1, 'only two trials');
    b.succeeded(t1);
    assert.equal(b.state.kind, 'half-open');
    b.succeeded(t2);
    assert.deepEqual(b.state, { kind: 'closed' });
    b.succeeded(t1); // a stale permit changes nothing
    assert.equal(b.failed(t2, new Error('late')), false);
    assert.equal(b.stats().consecutiveFailures, 0);
  });

  it('reports transitions and state to the metrics registry', async () => {
    const metrics = createMetricsRegistry();
    const b = new CircuitBreaker({ name: 'redis', metrics, consecutiveFailures: 1 });
    await failTimes(b, 1);
    await refused(b);
    const text = metrics.exposition();
    assert.match(text, /code_breaker_state\{breaker="redis"\} 2/);
    assert.match(text, /code_breaker_transitions_total\{breaker="redis",to="open"\} 1/);
    assert.match(text, /code_breaker_rejections_total\{breaker="redis"\} 1/);
    b.reset();
    assert.match(metrics.exposition(), /code_breaker_state\{breaker="redis"\} 0/);
    // A second breaker on the same registry reuses the instruments.
    const c = new CircuitBreaker({ name: 'pg', metrics });
    c.isolate();
    assert.match(metrics.exposition(), /code_breaker_state\{breaker="pg"\} 2/);
  });
});

describe('CircuitBreaker calls', () => {
  it('passes values, sync results and sync throws through, and counts a sync throw', async () => {
    const b = new CircuitBreaker({ name: 's', consecutiveFailures: 2 });
    assert.equal(await b.execute(() => 42), 42);
    assert.equal(await b.execute(async ({ attempt }) => attempt), 1);
    await assert.rejects(
      b.execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(b.stats().consecutiveFailures, 1);
  });

  it('rejects at once with the reason of an aborted signal, without running the operation', async () => {
    const b = new CircuitBreaker();
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    let ran = false;
    await assert.rejects(
      b.execute(() => {
        ran = true;
        return 1;
      }, ac.signal),
      /gone/,
    );
    assert.equal(ran, false);
  });

  it('hands the caller signal to the operation', async () => {
    const b = new CircuitBreaker();
    const ac = new AbortController();
    assert.equal(await b.execute(({ signal }) => signal, ac.signal), ac.signal);
  });

  it('rejects bad options with the option name', () => {
    assert.throws(() => new CircuitBreaker({ name: 'bad', consecutiveFailures: 0 }), (e: unknown) => isResilienceError(e, 'RESILIENCE_OPTIONS_INVALID') && /consecutiveFailures/.test((e as Error).message));
    assert.throws(() => new CircuitBreaker({ errorRate: 1.5 }), /errorRate/);
    assert.throws(() => new CircuitBreaker({ successesToClose: 4, halfOpenTrials: 3 }), /successesToClose/);
  });
});
