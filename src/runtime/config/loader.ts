import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type * as Levenshtein from 'fastest-levenshtein';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type * as SmolToml from 'smol-toml';
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.js';
import { allowedKeysAt, configKeys } from './keys.js';
import { lazyRequire } from '../../platform/lazy.js';
import { ConfigSchema, sections, type Config } from './schema.js';

/** Config files are small; anything bigger is a mistake (or an attack on the parser). */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_CONFIG_DEPTH = 32;
const MAX_YAML_ALIASES = 100;
const DEFAULT_FILES = ['codectl.yaml', 'codectl.yml', 'codectl.json', 'codectl.toml'];

export interface LoadConfigOptions {
  /** Explicit file (from --config); otherwise CODE_CONFIG, otherwise ./codectl.yaml if present. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values from command-line options, applied last, e.g. { server: { port: 9000 } }. */
  overrides?: Record<string, Record<string, unknown>>;
}

export interface LoadedConfig {
  config: Config;
  /** The file read, if any. */
  file?: string;
  /** What produced this config, for the version history: `file codectl.yaml + env CODE_SERVER_PORT`. */
  source: string;
}

const levenshtein = lazyRequire<typeof Levenshtein>('fastest-levenshtein');
const smolToml = lazyRequire<typeof SmolToml>('smol-toml');

// The compiled validator is ~300 KB of generated code, used at start-up and when a config version
// is applied. Held weakly: the collector may drop it between uses; it is compiled again (~0.1 s)
// when needed. Its own Ajv instance, so no schema cache keeps it alive.
let validatorRef: WeakRef<ValidateFunction<Config>> | undefined;
function configValidator(): ValidateFunction<Config> {
  let validate = validatorRef?.deref();
  if (validate === undefined) {
    validate = new Ajv({ allErrors: true, useDefaults: true, strict: true, keywords: ['live'] }).compile<Config>(ConfigSchema);
    validatorRef = new WeakRef(validate);
  }
  return validate;
}

export function suggest(word: string, candidates: string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const { closest, distance } = levenshtein();
  const best = closest(word, candidates);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

interface ParsedFile {
  data: unknown;
  /** Line of a dotted path in the file, when the format tells. */
  lineOf: (path: string[]) => number | undefined;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_CONFIG_DEPTH || typeof value !== 'object' || value === null) return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

function parseYamlLike(text: string, file: string): ParsedFile {
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = lines.linePos(err.pos[0]);
    throw new ConfigError('CONFIG_UNREADABLE', `${file}:${pos.line}:${pos.col}: ${err.message.split('\n')[0]}`, { file, line: pos.line, column: pos.col });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    throw new ConfigError('CONFIG_UNREADABLE', `${file}: ${(e as Error).message}`, { file });
  }
  return {
    data,
    lineOf: (path) => {
      // The key's own line reads best: "server.port" points at `port:`.
      const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path[path.length - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) return lines.linePos(range[0]).line;
      }
      return undefined;
    },
  };
}

function parseFile(file: string): ParsedFile {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new ConfigError('CONFIG_NOT_FOUND', `config file not found: ${file}`, { file });
  }
  if (size > MAX_CONFIG_BYTES) throw new ConfigError('CONFIG_UNREADABLE', `${file}: ${size} bytes is over the ${MAX_CONFIG_BYTES}-byte limit for a config file`, { file, size });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('CONFIG_UNREADABLE', `${file}: ${(e as Error).message}`, { file });
  }
  let parsed: ParsedFile;
  if (extname(file) === '.toml') {
    try {
      parsed = { data: smolToml().parse(text), lineOf: () => undefined };
    } catch (e) {
      const err = e as Error & { line?: number; column?: number };
      throw new ConfigError('CONFIG_UNREADABLE', `${file}:${err.line ?? '?'}: ${err.message.split('\n')[0]}`, { file, line: err.line });
    }
  } else {
    parsed = parseYamlLike(text, file); // JSON is YAML 1.2, and YAML's parser knows lines.
  }
  if (parsed.data === null || parsed.data === undefined) parsed.data = {};
  if (typeof parsed.data !== 'object' || Array.isArray(parsed.data)) throw new ConfigError('CONFIG_UNREADABLE', `${file}: the top level must be a mapping of sections (server:, data:, …)`, { file });
  if (depthOf(parsed.data) > MAX_CONFIG_DEPTH) throw new ConfigError('CONFIG_UNREADABLE', `${file}: nested deeper than ${MAX_CONFIG_DEPTH} levels`, { file });
  return parsed;
}

function coerce(raw: string, type: unknown, name: string, issues: ConfigIssue[], path: string): unknown {
  switch (type) {
    case 'integer':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) issues.push({ path, reason: `must be a number, got ${JSON.stringify(raw)}`, source: `env ${name}` });
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      issues.push({ path, reason: `must be true or false, got ${JSON.stringify(raw)}`, source: `env ${name}` });
      return raw;
    case 'array':
    case 'object':
      try {
        return JSON.parse(raw);
      } catch {
        issues.push({ path, reason: `must be JSON (${String(type)}), got ${JSON.stringify(raw)}`, source: `env ${name}` });
        return raw;
      }
    default:
      return raw;
  }
}

function setIn(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const seg of path.slice(0, -1)) {
    if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function describeAjvError(e: ErrorObject): { path: string[]; reason: string } {
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    const hint = suggest(key, allowedKeysAt(path));
    return { path: [...path, key], reason: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` };
  }
  if (e.keyword === 'enum') return { path, reason: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
  return { path, reason: e.message ?? 'is invalid' };
}

/**
 * Validates a whole config object (defaults filled in place); throws CONFIG_INVALID listing every
 * bad key. `where` tells where a path's value came from.
 */
export function validateConfig(candidate: Record<string, unknown>, where: (path: string[]) => string | undefined = () => undefined, extra: ConfigIssue[] = []): Config {
  const issues = [...extra];
  const validate = configValidator();
  if (!validate(candidate)) {
    for (const e of validate.errors ?? []) {
      const { path, reason } = describeAjvError(e);
      if (extra.some((i) => i.path === path.join('.'))) continue; // already explained (e.g. a bad env value)
      const source = where(path);
      issues.push({ path: path.join('.') || '(root)', reason, ...(source ? { source } : {}) });
    }
  }
  if (issues.length > 0) throw ConfigError.invalid(issues);
  return candidate as unknown as Config;
}

/** Reads the file (if any), applies CODE_* environment variables and overrides, validates. */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.path ?? env.CODE_CONFIG;
  let file: string | undefined;
  if (explicit) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError('CONFIG_NOT_FOUND', `config file not found: ${explicit}`, { file: explicit });
  } else {
    file = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  }
  const parsed = file ? parseFile(file) : { data: {}, lineOf: () => undefined };
  const candidate = structuredClone(parsed.data) as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const origin = new Map<string, string>();
  const displayFile = file ? (explicit ?? file.slice(cwd.length + 1)) : undefined;
  const sourceParts: string[] = displayFile ? [`file ${displayFile}`] : ['defaults'];

  // Well-known URLs first, so the explicit CODE_* names win over them.
  const aliases: Array<[string, string[]]> = [['DATABASE_URL', ['store', 'url']], ['REDIS_URL', ['redis', 'url']]];
  for (const [name, path] of aliases) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') {
      setIn(candidate, path, raw);
      origin.set(path.join('.'), `env ${name}`);
      sourceParts.push(`env ${name}`);
    }
  }

  const byEnv = new Map(configKeys().map((k) => [k.env, k]));
  const sectionPrefixes = Object.keys(sections).map((s) => `CODE_${s.toUpperCase()}_`);
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('CODE_')) continue;
    const key = byEnv.get(name);
    if (!key) {
      // Only names inside a known section are ours to reject; CODE_CONFIG, CODE_API_TOKEN… are not keys.
      if (sectionPrefixes.some((p) => name.startsWith(p))) {
        const hint = suggest(name, [...byEnv.keys()]);
        issues.push({ path: name, reason: `unknown environment variable${hint ? ` (did you mean ${hint}?)` : ''}` });
      }
      continue;
    }
    setIn(candidate, key.segments, coerce(raw, key.schema.type, name, issues, key.path));
    origin.set(key.path, `env ${name}`);
    sourceParts.push(`env ${name}`);
  }

  for (const [section, values] of Object.entries(opts.overrides ?? {})) {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      setIn(candidate, [section, k], v);
      origin.set(`${section}.${k}`, 'command-line option');
    }
  }

  const where = (path: string[]): string | undefined => {
    for (let n = path.length; n > 0; n--) {
      const o = origin.get(path.slice(0, n).join('.'));
      if (o) return o;
    }
    if (!displayFile) return undefined;
    const line = parsed.lineOf(path);
    return line ? `${displayFile}:${line}` : displayFile;
  };
  const config = validateConfig(candidate, where, issues);
  return { config, ...(file ? { file } : {}), source: sourceParts.join(' + ') };
}

/** A config with every default filled in (no file, no environment). */
export function defaultConfig(): Config {
  return validateConfig({});
}
