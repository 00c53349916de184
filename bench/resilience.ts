// `npm run bench -- resilience [--rounds N] [--calls N]`
// The cost of a call through each policy, against a direct awaited call and against cockatiel 3 and
// opossum 9, measured in the same process: many short rounds, contenders alternated within each
// round; medians of samples, and ratios as medians of per-round (paired) ratios. ops are per CPU
// second of this process (see measure()).
import { ConsecutiveBreaker, bulkhead as cBulkhead, circuitBreaker as cBreaker, handleAll, retry as cRetry, timeout as cTimeout, TimeoutStrategy, wrap as cWrap } from 'cockatiel';
import Opossum from 'opossum';
import { Bulkhead, CircuitBreaker, Retry, Timeout, wrap } from '../src/platform/resilience/index.js';
import { numberArg } from './_lib.js';

const ROUNDS = numberArg('--rounds', 21);
const CALLS = numberArg('--calls', 100_000);

// The operations every contender runs. `op` awaits once before it returns, like any async function
// doing real work (this is the "direct awaited call" of the issue, ~110-170 ns here). `resolvedOp`
// returns an already-settled promise: the worst case for a wrapper, reported too.
let sink = 0;
const op = async (): Promise<number> => {
  await null;
  return ++sink;
};
const resolvedOp = async (): Promise<number> => ++sink;

type Loop = (n: number) => Promise<void>;

const ours = new CircuitBreaker({ name: 'bench' }); // full defaults: consecutive AND windowed error rate
const cockatiel = cBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
// opossum without its per-call timer (timeout: false) so it is measured as a breaker only, at its cheapest.
const opossum = new Opossum(op, { timeout: false, errorThresholdPercentage: 50, resetTimeout: 60_000, volumeThreshold: 10 });
const oursPermit = new CircuitBreaker({ name: 'bench-permit' });
const ours2 = new CircuitBreaker({ name: 'bench-resolved' });
const cockatiel2 = cBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
const opossum2 = new Opossum(resolvedOp, { timeout: false, errorThresholdPercentage: 50, resetTimeout: 60_000, volumeThreshold: 10 });

// The floor of any wrapper that returns a promise and observes the outcome: one `.then` with bound
// handlers that do nothing (one derived promise, one reaction job). No breaker can cost less than
// this through `execute`; printed as its own limit so the breaker's cost above the floor shows.
const identity = (v: number): number => v;
const rethrow = (e: unknown): never => {
  throw e;
};
const floorWrap = (fn: () => Promise<number>): Promise<number> => fn().then(identity, rethrow);

// One loop per contender, written out, so each call site stays monomorphic.
const loops: Record<string, Loop> = {
  direct: async (n) => {
    for (let i = 0; i < n; i++) await op();
  },
  floor: async (n) => {
    for (let i = 0; i < n; i++) await floorWrap(op);
  },
  permit: async (n) => {
    // The breaker's low-level form (what the HTTP client uses): no derived promise at all.
    for (let i = 0; i < n; i++) {
      const p = oursPermit.admit();
      if (p < 0) throw oursPermit.refusal();
      let v: number;
      try {
        v = await op();
      } catch (err) {
        oursPermit.failed(p, err);
        throw err;
      }
      oursPermit.succeeded(p);
      sink += v & 0;
    }
  },
  ours: async (n) => {
    for (let i = 0; i < n; i++) await ours.execute(op);
  },
  cockatiel: async (n) => {
    for (let i = 0; i < n; i++) await cockatiel.execute(op);
  },
  opossum: async (n) => {
    for (let i = 0; i < n; i++) await opossum.fire();
  },
};
const resolvedLoops: Record<string, Loop> = {
  direct: async (n) => {
    for (let i = 0; i < n; i++) await resolvedOp();
  },
  ours: async (n) => {
    for (let i = 0; i < n; i++) await ours2.execute(resolvedOp);
  },
  cockatiel: async (n) => {
    for (let i = 0; i < n; i++) await cockatiel2.execute(resolvedOp);
  },
  opossum: async (n) => {
    for (let i = 0; i < n; i++) await opossum2.fire();
  },
};

const oursTimeout = new Timeout(10_000);
const cockTimeout = cTimeout(10_000, TimeoutStrategy.Aggressive);
const oursBulkhead = new Bulkhead({ maxConcurrent: 64, maxQueue: 64 });
const cockBulkhead = cBulkhead(64, 64);
const oursRetry = new Retry({ maxAttempts: 3, idempotent: true });
const cockRetry = cRetry(handleAll, { maxAttempts: 2 });
const oursStack = wrap(new Retry({ maxAttempts: 3, idempotent: true }), new CircuitBreaker({ name: 'bench-stack' }), new Timeout(10_000));
const cockStack = cWrap(cRetry(handleAll, { maxAttempts: 2 }), cBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }), cTimeout(10_000, TimeoutStrategy.Aggressive));

const policyLoops: Record<string, Loop> = {
  'timeout:ours': async (n) => {
    for (let i = 0; i < n; i++) await oursTimeout.execute(op);
  },
  'timeout:cockatiel': async (n) => {
    for (let i = 0; i < n; i++) await cockTimeout.execute(op);
  },
  'bulkhead:ours': async (n) => {
    for (let i = 0; i < n; i++) await oursBulkhead.execute(op);
  },
  'bulkhead:cockatiel': async (n) => {
    for (let i = 0; i < n; i++) await cockBulkhead.execute(op);
  },
  'retry:ours': async (n) => {
    for (let i = 0; i < n; i++) await oursRetry.execute(op);
  },
  'retry:cockatiel': async (n) => {
    for (let i = 0; i < n; i++) await cockRetry.execute(op);
  },
  'stack:ours': async (n) => {
    for (let i = 0; i < n; i++) await oursStack.execute(op);
  },
  'stack:cockatiel': async (n) => {
    for (let i = 0; i < n; i++) await cockStack.execute(op);
  },
};

/**
 * Many short samples, contenders alternated inside every round (order rotated), so a burst of load
 * from other processes hits one sample rather than one contender. Time is the process CPU time, not
 * the wall clock: these loops never wait on I/O, so CPU time is the work done, and the time this
 * process spends descheduled on a shared 2-core machine does not count against whoever ran then.
 * Returns ops per CPU-second per sample.
 */
async function measure(set: Record<string, Loop>, calls: number, rounds: number): Promise<Record<string, number[]>> {
  const names = Object.keys(set);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await set[name]!(50_000); // warm-up: let the JIT settle
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      // A full GC before each sample: CPU time counts the GC threads, so nobody pays for the
      // garbage (timers, promises) the previous contender left.
      (globalThis as { gc?: () => void }).gc?.();
      const c0 = process.cpuUsage();
      await set[name]!(calls);
      const c = process.cpuUsage(c0);
      samples[name]!.push((calls * 1e6) / Math.max(1, c.user + c.system));
    }
  }
  return samples;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ns = (ops: number): number => 1e9 / ops;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Medians; ratios and overhead shares are medians of per-round values (each round pairs the contenders). */
function report(bench: string, samples: Record<string, number[]>): void {
  const ops = (n: string): number => median(samples[n]!);
  const perRound = (f: (r: number) => number): number => median(samples.direct!.map((_, r) => f(r)));
  const at = (n: string, r: number): number => samples[n]![r]!;
  line({
    bench,
    ours_ops: Math.round(ops('ours')),
    peer: 'limit:direct-async-call',
    peer_ops: Math.round(ops('direct')),
    ratio: r3(perRound((r) => at('ours', r) / at('direct', r))),
    cost_x: r3(perRound((r) => at('direct', r) / at('ours', r))),
    direct_ns: r1(ns(ops('direct'))),
    ours_ns: r1(ns(ops('ours'))),
    clock: 'cpu',
  });
  // The floor (see floorWrap) and the permit form, when measured: ratios to the direct call.
  for (const limit of ['floor', 'permit'] as const) {
    if (!samples[limit]) continue;
    line({
      bench: `${bench}.${limit}`,
      ours_ops: Math.round(ops(limit)),
      peer: 'limit:direct-async-call',
      peer_ops: Math.round(ops('direct')),
      ratio: r3(perRound((r) => at(limit, r) / at('direct', r))),
      cost_x: r3(perRound((r) => at('direct', r) / at(limit, r))),
      ours_vs_floor_cost_x: limit === 'floor' ? r3(perRound((r) => at('floor', r) / at('ours', r))) : undefined,
      clock: 'cpu',
    });
  }
  for (const peer of ['cockatiel', 'opossum'] as const) {
    line({
      bench,
      ours_ops: Math.round(ops('ours')),
      peer,
      peer_ops: Math.round(ops(peer)),
      ratio: r3(perRound((r) => at('ours', r) / at(peer, r))),
      ours_overhead_ns: r1(perRound((r) => ns(at('ours', r)) - ns(at('direct', r)))),
      peer_overhead_ns: r1(perRound((r) => ns(at(peer, r)) - ns(at('direct', r)))),
      overhead_share: r3(perRound((r) => (ns(at('ours', r)) - ns(at('direct', r))) / (ns(at(peer, r)) - ns(at('direct', r))))),
    });
  }
}
const line = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
report('resilience.breaker.closed', await measure(loops, CALLS, ROUNDS));
report('resilience.breaker.closed.resolved_op', await measure(resolvedLoops, CALLS, ROUNDS));

const p = await measure(policyLoops, Math.round(CALLS / 2), Math.max(5, Math.round(ROUNDS / 2)));
for (const kind of ['timeout', 'bulkhead', 'retry', 'stack']) {
  const o = p[`${kind}:ours`]!;
  const c = p[`${kind}:cockatiel`]!;
  line({ bench: `resilience.${kind}`, ours_ops: Math.round(median(o)), peer: 'cockatiel', peer_ops: Math.round(median(c)), ratio: r3(median(o.map((x, r) => x / c[r]!))) });
}
if (sink < 0) console.log(sink);
