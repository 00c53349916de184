/**
 * Primes `process.nextTick` before the process loads anything else.
 *
 * Node's nextTick builds each tick object with an object literal that starts with symbol keys. V8's
 * inline cache for such keys goes from monomorphic straight to megamorphic at the first object shape
 * it did not expect, and stays there: from then on every tick makes a runtime call
 * (Runtime_DefineKeyedOwnPropertyInLiteral). Measured on Node 20: a tick costs ~55 ns in a fresh
 * process and ~320 ns after ajv has compiled the config schema (or after anything has given 1,600
 * empty objects distinct first keys, which fills V8's transition table for them); in `codectl serve`
 * under load that runtime call took 7–10% of the CPU (an HTTP request makes about eight ticks).
 * Once V8 has optimised nextTick with the shapes of a clean start, it keeps them. Measured in
 * `npm run bench -- server` (README "How `npm start` runs the server"); CODE_PRIME_TICKS=0 turns
 * it off.
 */

/** Ticks enough for V8 to optimise nextTick (it did at ~5,000 on Node 20); ~2 ms at start-up. */
export const PRIME_TICKS = 10_000;

/** Runs `count` chained ticks and resolves after the last one; `CODE_PRIME_TICKS=0` skips it. */
export function primeNextTick(count = PRIME_TICKS, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (env.CODE_PRIME_TICKS === '0' || count <= 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    let n = 0;
    const tick = (): void => {
      if (++n >= count) resolve(n);
      else process.nextTick(tick);
    };
    process.nextTick(tick);
  });
}
