import assert from 'node:assert/strict';
import type { Finding } from '../../../src/capabilities/spec/index.js';

/** Lines (1-based) of the `expect: RULE` markers in a fixture, in order. */
export function markers(text: string): Array<{ line: number; rule: string }> {
  const out: Array<{ line: number; rule: string }> = [];
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/expect: ([a-z.-]+)/g)) out.push({ line: i + 1, rule: m[1]! });
  });
  return out;
}

/** Asserts that the findings are exactly the marked ones: same rules on the same lines. */
export function assertMarked(text: string, findings: readonly Finding[]): void {
  const want = markers(text).map((m) => `${m.line}:${m.rule}`).sort();
  const got = findings.map((f) => `${f.line}:${f.rule}`).sort();
  assert.deepEqual(got, want, `findings:\n${findings.map((f) => `  ${f.line}:${f.column} ${f.rule} ${f.path} ${f.message}`).join('\n')}`);
}
