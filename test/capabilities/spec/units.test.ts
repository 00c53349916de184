import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCpu, parseMemory } from '../../../src/capabilities/spec/index.js';

test('cpu: millicores, cores as numbers and as text', () => {
  assert.equal(parseCpu('250m'), 0.25);
  assert.equal(parseCpu('100m'), 0.1);
  assert.equal(parseCpu('2'), 2);
  assert.equal(parseCpu(2), 2);
  assert.equal(parseCpu('0.5'), 0.5);
  assert.equal(parseCpu(' 1500m '), 1.5);
});

test('cpu: anything else is unreadable', () => {
  for (const bad of ['two', '2 cores', '-1', '1.5.2', 'm', '250M', '', null, {}, [], Number.NaN, -3, 'x'.repeat(100)]) {
    assert.equal(parseCpu(bad), undefined, `parseCpu(${JSON.stringify(bad)})`);
  }
});

test('memory: binary and decimal suffixes, bare bytes', () => {
  assert.equal(parseMemory('512Mi'), 512 * 1024 ** 2);
  assert.equal(parseMemory('1Gi'), 1024 ** 3);
  assert.equal(parseMemory('1G'), 1e9);
  assert.equal(parseMemory('128M'), 128e6);
  assert.equal(parseMemory('64Ki'), 64 * 1024);
  assert.equal(parseMemory('1k'), 1000);
  assert.equal(parseMemory('1.5Gi'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory(134217728), 134217728);
  assert.equal(parseMemory('134217728'), 134217728);
});

test('memory: anything else is unreadable', () => {
  for (const bad of ['lots', '1 GB', '1GB', '1gi', 'Mi', '-5Mi', '', true, -1]) {
    assert.equal(parseMemory(bad), undefined, `parseMemory(${JSON.stringify(bad)})`);
  }
});
