// Each limit holds, with a clear finding or error, and never by exhausting memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import { validateSpec } from '../../../src/capabilities/spec/index.js';

/** The classic "billion laughs": 9 levels of 9 aliases, 9^9 (387 million) strings once expanded. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let prev = 'a';
  for (const name of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']) {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    prev = name;
  }
  return `services:\n  web:\n    x-bomb:\n${lines.map((l) => `      ${l}`).join('\n')}\n    ports: [80]\n`;
}

test('a billion-laughs document fails with limit.aliases, without expanding it', () => {
  const heapBefore = process.memoryUsage().heapUsed;
  const r = validateSpec(billionLaughs(), { file: 'bomb.yaml' });
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.equal(r.valid, false);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.rule, 'limit.aliases');
  assert.match(r.findings[0]!.message, /alias/);
  assert.ok(r.findings[0]!.line >= 3, 'located inside the bomb');
  // Expanded, it would be hundreds of millions of nodes (gigabytes); unexpanded it is a few KB.
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);
});

test('the same bomb in the services themselves, and a small legitimate alias use passes', () => {
  const bomb = billionLaughs().replace('    x-bomb:\n', '    environment:\n');
  assert.equal(validateSpec(bomb).findings[0]!.rule, 'limit.aliases');

  const ok = validateSpec(`
x-defaults: &defaults
  cpu: 250m
  memory: 256Mi
services:
  a: { <<: *defaults, ports: [80] }
  b: { <<: *defaults, ports: [81] }
`);
  assert.deepEqual(ok.findings, []);
  assert.equal(ok.spec!.services[1]!.cpu, 0.25);
});

test('maxNodes bounds expansion exactly at the configured size', () => {
  const text = `services:\n  web:\n    x-list: &l [1,2,3,4,5,6,7,8,9,10]\n    x-more: [*l, *l, *l, *l, *l]\n`;
  assert.equal(validateSpec(text, { limits: { maxNodes: 1000 } }).valid, true);
  assert.equal(validateSpec(text, { limits: { maxNodes: 40 } }).findings[0]!.rule, 'limit.aliases');
});

test('nesting depth: YAML block, YAML flow, JSON and TOML all stop at maxDepth', () => {
  const deepFlow = `services:\n  web:\n    x-deep: ${'['.repeat(200)}${']'.repeat(200)}\n`;
  const f1 = validateSpec(deepFlow, { limits: { maxDepth: 32 } });
  assert.equal(f1.findings[0]!.rule, 'limit.depth');
  assert.equal(f1.findings[0]!.line, 3);

  let block = 'services:\n  web:\n';
  for (let i = 0; i < 60; i++) block += `${'  '.repeat(i + 2)}k${i}:\n`;
  block += `${'  '.repeat(62)}v: 1\n`;
  assert.equal(validateSpec(block, { limits: { maxDepth: 32 } }).findings[0]!.rule, 'limit.depth');

  // JSON.parse has no depth bound of its own: a very deep array must still end as a finding.
  const deepJson = `{"services": {"web": {"x-deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}}`;
  const j = validateSpec(deepJson, { limits: { maxBytes: 1 << 20 } });
  assert.equal(j.findings[0]!.rule, 'limit.depth');

  const deepToml = `[services.web]\nx = ${'['.repeat(100)}${']'.repeat(100)}\n`;
  assert.equal(validateSpec(deepToml, { format: 'toml', limits: { maxDepth: 32 } }).findings[0]!.rule, 'limit.depth');

  // Just inside the limit is fine.
  const okDepth = `services:\n  web:\n    x-deep: ${'['.repeat(20)}${']'.repeat(20)}\n`;
  assert.equal(validateSpec(okDepth, { limits: { maxDepth: 32 } }).valid, true);
});

test('input size: over maxBytes is SPEC_TOO_LARGE, counted in UTF-8 bytes', () => {
  assert.throws(() => validateSpec(`services: {}\n#${'x'.repeat(2000)}`, { limits: { maxBytes: 1000 } }), (e) => hasCode(e, 'SPEC_TOO_LARGE'));
  // 400 characters of 3 UTF-8 bytes each: 1,200 bytes although only 400 UTF-16 units.
  assert.throws(() => validateSpec(`services: {}\n#${'€'.repeat(400)}`, { limits: { maxBytes: 1000 } }), (e) => hasCode(e, 'SPEC_TOO_LARGE'));
  assert.equal(validateSpec(`services: {}\n#${'x'.repeat(100)}`, { limits: { maxBytes: 1000 } }).valid, true);
});

test('document count and finding count are bounded', () => {
  const many = Array.from({ length: 10 }, (_, i) => `services:\n  s${i}: {}\n`).join('---\n');
  assert.equal(validateSpec(many, { limits: { maxDocuments: 5 } }).findings[0]!.rule, 'limit.documents');
  assert.equal(validateSpec(many, { limits: { maxDocuments: 10 } }).valid, true);

  const lots = `services:\n${Array.from({ length: 50 }, (_, i) => `  s${i}: { replicas: 0 }\n`).join('')}`;
  const r = validateSpec(lots, { limits: { maxFindings: 20 } });
  assert.equal(r.findings.length, 21);
  assert.equal(r.findings.at(-1)!.rule, 'limit.findings');
  assert.match(r.findings.at(-1)!.message, /30 more/);
});
