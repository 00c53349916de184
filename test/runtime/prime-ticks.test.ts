import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRIME_TICKS, primeNextTick } from '../../src/runtime/prime-ticks.js';

test('primeNextTick runs its ticks one after another and resolves after the last', async () => {
  let ran = 0;
  const spy = process.nextTick;
  // Count the ticks it schedules: each one must go through process.nextTick itself.
  process.nextTick = ((fn: () => void, ...args: unknown[]) => {
    ran++;
    spy(fn, ...args);
  }) as typeof process.nextTick;
  try {
    assert.equal(await primeNextTick(500), 500);
  } finally {
    process.nextTick = spy;
  }
  assert.ok(ran >= 500, `${ran} ticks went through process.nextTick`); // the test runner may add its own
  assert.equal(await primeNextTick(), PRIME_TICKS);
});

test('CODE_PRIME_TICKS=0 skips it', async () => {
  assert.equal(await primeNextTick(1000, { CODE_PRIME_TICKS: '0' }), 0);
  assert.equal(await primeNextTick(0), 0);
});
