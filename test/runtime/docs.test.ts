import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCatalogue } from '../../src/runtime/errors/catalogue.js';
import { errorsDoc, readmeWithReference } from '../../scripts/gen-docs.js';

const root = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('the README config reference matches the config schema (npm run docs)', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.equal(readme, readmeWithReference(readme), 'README.md config reference is stale: run `npm run docs`');
});

test('docs/errors.md matches the error catalogue (npm run docs)', () => {
  assert.equal(readFileSync(join(root, 'docs/errors.md'), 'utf8'), errorsDoc(), 'docs/errors.md is stale: run `npm run docs`');
});

test('every error code declared in src/ is in the catalogue', () => {
  const declared = new Map<string, string>();
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    // Codes live in the type argument of a CodeError subclass or in an `…ErrorCode` union.
    const unions = [...text.matchAll(/extends CodeError<([^>{]+)>/g), ...text.matchAll(/ErrorCode\s*=([^;]+);/g)].map((m) => m[1]!);
    for (const u of unions) for (const m of u.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) declared.set(m[1]!, file.slice(root.length));
  }
  assert.ok(declared.size >= 10, 'the scan finds the declared codes');
  const missing = [...declared].filter(([code]) => !(code in errorCatalogue)).map(([code, file]) => `${code} (${file})`);
  assert.deepEqual(missing, [], `codes missing from src/runtime/errors/catalogue.ts: ${missing.join(', ')}`);
});
