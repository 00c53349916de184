/**
 * The fast path: turn text into plain values with the quickest parser for the format (js-yaml for
 * YAML, JSON.parse, smol-toml) and no position bookkeeping at all. Positions are recovered later, by
 * locate.ts, and only when a finding needs one. Limits hold here too: document count, nesting depth
 * (js-yaml's own maxDepth, so a deep file stops early) and a guard against stack exhaustion. Alias expansion is bounded by the walker (limits.ts), because js-yaml shares aliased
 * nodes instead of copying them: the bomb only explodes when somebody walks it.
 */
import type * as JsYaml from 'js-yaml';
import type * as SmolToml from 'smol-toml';
import { lazyRequire } from '../../platform/lazy.js';
import type { SpecFormat, SpecLimits } from './types.js';

// Loaded at the first spec of their format: a server that never checks a spec carries neither.
const jsyaml = lazyRequire<typeof JsYaml>('js-yaml');
const smolToml = lazyRequire<typeof SmolToml>('smol-toml');

/** A problem that stopped parsing; `offset` or `line`/`column` (1-based) place it. */
export interface ParseProblem {
  rule: 'syntax' | 'limit.depth' | 'limit.documents';
  message: string;
  offset?: number;
  line?: number;
  column?: number;
}

export interface Parsed {
  docs: unknown[];
  problem: ParseProblem | undefined;
}

class Stop {
  constructor(readonly problem: ParseProblem) {}
}

export function detectFormat(text: string, file: string | undefined): SpecFormat | undefined {
  if (file) {
    const lower = file.toLowerCase();
    if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
    if (lower.endsWith('.json')) return 'json';
    if (lower.endsWith('.toml')) return 'toml';
  }
  // Sniff: JSON starts with { or [; TOML has a [table] header or `key = value` before any YAML `key:`.
  const m = /^\s*(\S)/.exec(text);
  if (!m) return 'yaml';
  if (m[1] === '{') return 'json';
  const firstLine = /^[ \t]*([^#\s][^\n]*)$/m.exec(text)?.[1] ?? '';
  if (/^\[\[?[A-Za-z0-9_."' -]+\]\]?\s*(#.*)?$/.test(firstLine) || /^[A-Za-z0-9_."-]+\s*=/.test(firstLine)) return 'toml';
  if (m[1] === '[') return 'json';
  return 'yaml';
}

export function parseText(text: string, format: SpecFormat, limits: SpecLimits): Parsed {
  try {
    switch (format) {
      case 'json':
        return { docs: [JSON.parse(text)], problem: undefined };
      case 'toml':
        return { docs: [smolToml().parse(text, { maxDepth: limits.maxDepth })], problem: undefined };
      case 'yaml':
        return parseYaml(text, limits);
    }
  } catch (err) {
    if (err instanceof Stop) return { docs: [], problem: err.problem };
    if (err instanceof RangeError) {
      // Stack exhausted by nesting deeper than any parser limit caught: report it as the depth limit.
      return { docs: [], problem: { rule: 'limit.depth', message: `nesting deeper than ${limits.maxDepth} levels`, offset: deepestOffset(text, limits.maxDepth) } };
    }
    return { docs: [], problem: syntaxProblem(err, format, text, limits) };
  }
}

/**
 * YAML 1.2's core schema (what `yaml` and most YAML 1.2 parsers use) plus merge keys (`<<: *base`),
 * which specs use for shared defaults. No YAML 1.1 timestamps or !!binary: `2026-01-01` stays text,
 * as a spec wants it, and js-yaml skips a timestamp regex on every plain scalar (~15% of its parse).
 */
// @types/js-yaml does not declare the `types` export; js-yaml 4 has it.
let yamlSchema: JsYaml.Schema | undefined;
export function specYamlSchema(): JsYaml.Schema {
  if (yamlSchema === undefined) {
    const y = jsyaml();
    yamlSchema = y.CORE_SCHEMA.extend({ implicit: [(y as unknown as { types: { merge: JsYaml.Type } }).types.merge] });
  }
  return yamlSchema;
}

function parseYaml(text: string, limits: SpecLimits): Parsed {
  const docs: unknown[] = [];
  // js-yaml counts one level per node it composes, keys included: slack of 2 keeps the walker's
  // exact count authoritative for ordinary files, while a deep file stops here, early.
  jsyaml().loadAll(
    text,
    (doc) => {
      if (docs.length >= limits.maxDocuments) throw new Stop({ rule: 'limit.documents', message: `more than ${limits.maxDocuments} YAML documents` });
      docs.push(doc);
    },
    { schema: specYamlSchema(), maxDepth: limits.maxDepth + 2 } as JsYaml.LoadOptions,
  );
  return { docs, problem: undefined };
}

function syntaxProblem(err: unknown, format: SpecFormat, text: string, limits: SpecLimits): ParseProblem {
  const e = err as { message?: string; reason?: string; mark?: { line: number; column: number }; line?: number; column?: number };
  if (format === 'yaml' && e.mark) {
    if (/maxDepth/.test(e.reason ?? '')) return { rule: 'limit.depth', message: `nesting deeper than ${limits.maxDepth} levels`, line: e.mark.line + 1, column: e.mark.column + 1 };
    return { rule: 'syntax', message: `YAML: ${e.reason ?? 'syntax error'}`, line: e.mark.line + 1, column: e.mark.column + 1 };
  }
  if (format === 'toml' && typeof e.line === 'number') {
    const first = (e.message ?? 'syntax error').split('\n')[0]!;
    const depthHit = /depth|nested/i.test(first);
    return depthHit
      ? { rule: 'limit.depth', message: `nesting deeper than ${limits.maxDepth} levels`, line: e.line, column: e.column ?? 1 }
      : { rule: 'syntax', message: `TOML: ${first}`, line: e.line, column: e.column ?? 1 };
  }
  const message = String(e.message ?? err);
  const pos = /at position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : /end of JSON input/.test(message) ? text.length : 0;
  return { rule: 'syntax', message: `${format.toUpperCase()}: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '')}`, offset };
}

/** First offset where bracket nesting passes `max` (best effort, for stack-overflow reports). */
export function deepestOffset(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return 0;
}
