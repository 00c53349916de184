// The same rules in YAML, JSON and TOML, with lines and columns from each format's own text.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { isCodeError } from '../../../src/platform/errors.js';
import { hasCode } from '../../../src/platform/errors.js';
import { validateSpec, validateSpecFile } from '../../../src/capabilities/spec/index.js';
import { assertMarked, markers } from './helpers.js';

const fixtures = new URL('../../fixtures/specs/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'code-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Line and column (1-based) where `needle` starts in `text`. */
function where(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `fixture lacks ${needle}`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

test('the ten-error YAML spec: all ten errors (and two warnings) in one pass, on the marked lines', () => {
  const text = readFileSync(new URL('ten-errors.yaml', fixtures), 'utf8');
  const r = validateSpec(text, { file: 'ten-errors.yaml' });
  assert.equal(r.valid, false);
  assert.equal(r.findings.filter((f) => f.severity === 'error').length, 10);
  assert.equal(r.findings.filter((f) => f.severity === 'warning').length, 2);
  assert.equal(markers(text).length, 12);
  assertMarked(text, r.findings);
  // Findings come sorted by position.
  const pos = r.findings.map((f) => f.line * 1000 + f.column);
  assert.deepEqual(pos, [...pos].sort((a, b) => a - b));
  // Value findings point at the value: `cpu: 50m` → the column of `50m`.
  const cpu = r.findings.find((f) => f.rule === 'resources.cpu-min')!;
  assert.deepEqual({ line: cpu.line, column: cpu.column }, where(text, '50m'));
  assert.equal(cpu.path, 'services.web.cpu');
});

test('the 50-service spec is valid', () => {
  const text = readFileSync(new URL('fifty-services.yaml', fixtures), 'utf8');
  const r = validateSpec(text, { file: 'fifty-services.yaml' });
  assert.deepEqual(r.findings, []);
  assert.equal(r.valid, true);
  assert.equal(r.spec!.services.length, 50);
});

test('JSON: findings located in the JSON text', () => {
  const text = JSON.stringify({
    services: {
      web: { cpu: '50m', memory: '1Gi', ports: [8080, 8080], replicas: 0 },
      api: { ports: [8080], helth: { tcp: 1 } },
    },
  }, null, 2);
  const r = validateSpec(text, { file: 'deploy.json' });
  assert.equal(r.format, 'json');
  const at = (rule: string) => { const f = r.findings.find((x) => x.rule === rule)!; return { line: f.line, column: f.column }; };
  assert.deepEqual(at('resources.cpu-min'), where(text, '"50m"'));
  const replicas = where(text, '"replicas": 0');
  assert.deepEqual(at('replicas.positive'), { line: replicas.line, column: replicas.column + '"replicas": '.length });
  assert.deepEqual(at('schema.unknown-key'), where(text, '"helth"'));
  assert.equal(r.findings.find((f) => f.rule === 'ports.duplicate')!.path, 'services.web.ports[1]');
  assert.equal(r.findings.find((f) => f.rule === 'ports.conflict')!.path, 'services.api.ports[0]');
  assert.equal(r.findings.find((f) => f.rule === 'ports.duplicate')!.line, where(text, '8080\n').line);
});

test('TOML: findings located on the key lines of the TOML text', () => {
  const text = [
    '[global]',
    'host = "127.0.0.1"',
    '',
    '[services.web]',
    'cpu = "50m"',
    'memory = "1Gi"',
    'ports = [8080, 8080]',
    '',
    '[services.web.environment]',
    'DB_PASSWORD = "hunter2-hunter2"',
    '',
    '[services.api]',
    'replicas = 0',
    'prots = [1]',
    '',
  ].join('\n');
  const r = validateSpec(text, { file: 'deploy.toml' });
  assert.equal(r.format, 'toml');
  const line = (rule: string) => r.findings.find((f) => f.rule === rule)!.line;
  assert.equal(line('resources.cpu-min'), 5);
  assert.equal(r.findings.find((f) => f.rule === 'resources.cpu-min')!.column, 7, 'value findings point at the value');
  assert.equal(line('ports.duplicate'), 7);
  assert.equal(line('environment.secret'), 10);
  assert.equal(line('replicas.positive'), 13);
  assert.equal(line('schema.unknown-key'), 14);
  assert.equal(r.spec!.services[0]!.host, '127.0.0.1');
});

test('syntax errors carry the line and column of each format', () => {
  const yaml = validateSpec('services:\n  web:\n    ports: [80\n  db: {}\n', { file: 'a.yaml' });
  assert.equal(yaml.valid, false);
  assert.equal(yaml.findings.length, 1);
  assert.equal(yaml.findings[0]!.rule, 'syntax');
  assert.ok(yaml.findings[0]!.line >= 3 && yaml.findings[0]!.line <= 4, `line ${yaml.findings[0]!.line}`);

  const dup = validateSpec('services:\n  web: {}\n  web: {}\n', { file: 'a.yaml' });
  assert.equal(dup.findings[0]!.rule, 'syntax');
  assert.equal(dup.findings[0]!.line, 3);
  assert.match(dup.findings[0]!.message, /duplicate/i);

  const json = validateSpec('{\n  "services": {\n    "web": { "cpu": "1", }\n  }\n}\n', { file: 'a.json' });
  assert.equal(json.findings[0]!.rule, 'syntax');
  assert.equal(json.findings[0]!.line, 3);
  assert.match(json.findings[0]!.message, /^JSON: /);

  const truncated = validateSpec('{\n  "services": {\n', { file: 'a.json' });
  assert.equal(truncated.findings[0]!.rule, 'syntax');
  assert.equal(truncated.findings[0]!.line, 3);

  const toml = validateSpec('[services.web]\ncpu = "1"\nports = [80,\n', { file: 'a.toml' });
  assert.equal(toml.findings[0]!.rule, 'syntax');
  assert.ok(toml.findings[0]!.line >= 3, `line ${toml.findings[0]!.line}`);
});

test('format from the extension, else sniffed from the text', () => {
  assert.equal(validateSpec('{"services": {}}').format, 'json');
  assert.equal(validateSpec('[services.web]\nports = [80]\n').format, 'toml');
  assert.equal(validateSpec('services:\n  web: {}\n').format, 'yaml');
  assert.equal(validateSpec('# comment\nservices: {}\n').format, 'yaml');
  assert.equal(validateSpec('services: {}\n', { file: 'x.YML' }).format, 'yaml');
  assert.throws(() => validateSpec('x', { format: 'xml' as never }), (e) => hasCode(e, 'SPEC_FORMAT_UNKNOWN'));
});

test('files: unreadable paths are SPEC_UNREADABLE, a directory too; a file over the limit is refused before reading', async () => {
  await assert.rejects(validateSpecFile(join(dir, 'missing.yaml')), (e) => hasCode(e, 'SPEC_UNREADABLE') && /no such file/.test((e as Error).message));
  mkdirSync(join(dir, 'a-dir.yaml'));
  await assert.rejects(validateSpecFile(join(dir, 'a-dir.yaml')), (e) => hasCode(e, 'SPEC_UNREADABLE'));
  const big = join(dir, 'big.yaml');
  writeFileSync(big, `services: {}\n# ${'x'.repeat(2048)}\n`);
  await assert.rejects(validateSpecFile(big, { limits: { maxBytes: 1024 } }), (e) => hasCode(e, 'SPEC_TOO_LARGE'));
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, 'services:\n  web: { ports: [80] }\n');
  const r = await validateSpecFile(ok);
  assert.equal(r.valid, true);
  assert.equal(r.findings.length, 0);
});

test('any text gives a report or a SpecError, never a crash', () => {
  const alphabet = fc.constantFrom(...'services:web ports-[]{}&*!|>"\'\n\t 0123456789.,#=%@`\\ui'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 200 }).map((a) => a.join('')), fc.constantFrom('yaml', 'json', 'toml'), (text, format) => {
      try {
        const r = validateSpec(text, { format: format as 'yaml' | 'json' | 'toml', file: 'f' });
        for (const f of r.findings) assert.ok(f.line >= 1 && f.column >= 1 && typeof f.rule === 'string');
      } catch (e) {
        assert.ok(isCodeError(e), `not a CodeError: ${String(e)}`);
      }
    }),
    { numRuns: 400 },
  );
});

test('YAML is read with the YAML 1.2 core schema plus merge keys: dates stay text, <<: merges', () => {
  const r = validateSpec(`
x-base: &base
  cpu: 500m
services:
  web:
    <<: *base
    environment:
      RELEASE: 2026-01-05
      RATIO: 0.5
      ENABLED: true
`);
  assert.deepEqual(r.findings, []);
  const web = r.spec!.services[0]!;
  assert.equal(web.cpu, 0.5);
  assert.deepEqual(web.environment, { RELEASE: '2026-01-05', RATIO: '0.5', ENABLED: 'true' });
});
