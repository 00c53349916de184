/**
 * Deployment specs: parse (YAML with several documents, JSON, TOML), check every rule in one pass,
 * and report findings with file, line and column.
 *
 *   const report = validateSpec(text, { file: 'deploy.yaml' });
 *   if (!report.valid) for (const f of report.findings) console.log(`${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}`);
 *
 * A valid spec costs one fast parse and one walk; lines are only computed when there is a finding
 * (see locate.ts), which is why parse + validate keeps pace with js-yaml's parse alone.
 */
import { readFile, stat } from 'node:fs/promises';
import { SpecError } from './errors.js';
import { checkLimits, type Segment } from './limits.js';
import { Locator } from './locate.js';
import { deepestOffset, detectFormat, parseText } from './parse.js';
import { RULES, type RuleId } from './rules.js';
import { DEFAULT_SPEC_LIMITS, type Finding, type SpecFormat, type SpecLimits, type SpecReport, type ValidateOptions } from './types.js';
import { validateDocuments, type RawFinding } from './validate.js';

export { SpecError, type SpecErrorCode } from './errors.js';
export { RULES, type RuleId } from './rules.js';
export { parseCpu, parseMemory } from './units.js';
export * from './types.js';

/** `services.web.ports[1]`; keys that are not plain identifiers are quoted: `environment["A.B"]`. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function resolveLimits(limits?: Partial<SpecLimits>): SpecLimits {
  return limits ? { ...DEFAULT_SPEC_LIMITS, ...limits } : DEFAULT_SPEC_LIMITS;
}

/**
 * Parses and validates a spec held in memory. Never throws for problems inside the text (those are
 * findings); throws SpecError SPEC_TOO_LARGE / SPEC_FORMAT_UNKNOWN when it cannot look at all.
 */
export function validateSpec(text: string, opts: ValidateOptions = {}): SpecReport {
  const limits = resolveLimits(opts.limits);
  const file = opts.file ?? '<input>';
  if (typeof text !== 'string') throw new SpecError('SPEC_FORMAT_UNKNOWN', `${file}: a spec must be text`, { file });
  // Cheap bound first (UTF-16 length ≤ UTF-8 bytes ≤ 3× it), exact count only near the limit.
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text, 'utf8') > limits.maxBytes)) {
    throw new SpecError('SPEC_TOO_LARGE', `${file}: the spec is larger than ${limits.maxBytes} bytes`, { file, limit: limits.maxBytes });
  }
  const format = opts.format ?? detectFormat(text, opts.file);
  if (format !== 'yaml' && format !== 'json' && format !== 'toml') {
    throw new SpecError('SPEC_FORMAT_UNKNOWN', `${file}: unknown spec format ${JSON.stringify(format)}; use yaml, json or toml`, { file });
  }
  const { docs, problem } = parseText(text, format, limits);
  let locator: Locator | undefined;
  const loc = (): Locator => (locator ??= new Locator(text, format));

  if (problem) {
    const pos = problem.line !== undefined ? { line: problem.line, column: problem.column ?? 1 } : loc().position(problem.offset ?? 0);
    const finding: Finding = { file, ...pos, path: '', rule: problem.rule, severity: 'error', message: problem.message };
    return { valid: false, format, findings: [finding], spec: undefined };
  }

  // Without an anchor (`&`) YAML has no alias: the tree is what was parsed, bounded by maxBytes, and
  // js-yaml already bounded its depth. JSON and TOML always get the walk (JSON.parse has no depth bound).
  const limit = format === 'yaml' && !text.includes('&') ? undefined : checkLimits(docs, limits.maxDepth, limits.maxNodes);
  if (limit) {
    // Deep JSON is located by counting brackets: a positional re-parse of it would be as deep.
    const pos = limit.rule === 'limit.depth' && format === 'json' ? loc().position(deepestOffset(text, limits.maxDepth)) : loc().locate(limit.doc, limit.path, 'value');
    return { valid: false, format, findings: [{ file, ...pos, path: formatPath(limit.path), rule: limit.rule, severity: 'error', message: limit.message }], spec: undefined };
  }

  const { spec, findings: raw } = validateDocuments(docs);
  if (raw.length === 0) return { valid: true, format, findings: [], spec };
  return { valid: !raw.some((f) => RULES[f.rule].severity === 'error'), format, findings: locateAll(raw, file, loc(), limits.maxFindings), spec };
}

function locateAll(raw: readonly RawFinding[], file: string, locator: Locator, max: number): Finding[] {
  const keep = raw.length > max ? raw.slice(0, max) : raw;
  const out = keep.map((f): Finding & { doc: number } => ({
    file,
    ...locator.locate(f.doc, f.path, f.at),
    path: formatPath(f.path),
    rule: f.rule,
    severity: RULES[f.rule].severity,
    message: f.message,
    doc: f.doc,
  }));
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  const findings = out.map(({ doc: _doc, ...f }) => f);
  if (raw.length > max) {
    findings.push({ file, line: 1, column: 1, path: '', rule: 'limit.findings', severity: 'error', message: `${raw.length - max} more findings were not reported (limit ${max})` });
  }
  return findings;
}

/**
 * Reads a spec file as text. Throws SpecError SPEC_UNREADABLE (missing, a directory, no permission)
 * or SPEC_TOO_LARGE before reading a byte too many.
 */
export async function readSpecFile(path: string, limits?: Partial<SpecLimits>, file = path): Promise<string> {
  const max = resolveLimits(limits).maxBytes;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new SpecError('SPEC_UNREADABLE', `${file}: not a regular file`, { file });
    if (st.size > max) throw new SpecError('SPEC_TOO_LARGE', `${file}: the spec is ${st.size} bytes, larger than ${max}`, { file, limit: max, size: st.size });
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message ?? err);
    throw new SpecError('SPEC_UNREADABLE', `${file}: cannot read the spec (${why})`, { file, cause: code });
  }
}

/** Reads and validates a spec file (see readSpecFile for the errors it throws). */
export async function validateSpecFile(path: string, opts: ValidateOptions = {}): Promise<SpecReport> {
  const file = opts.file ?? path;
  const text = await readSpecFile(path, opts.limits, file);
  return validateSpec(text, { ...opts, file });
}

/**
 * Line and column of `path` (e.g. ['services', 'web', 'host']) in a spec's text, searching every
 * document; for findings that other stages (the check flow) attach to a spec. Costs a parse with
 * positions, so call it only when there is something to report.
 */
export function locatePath(text: string, format: SpecFormat, path: readonly Segment[], at: 'key' | 'value' = 'value'): { line: number; column: number } {
  return new Locator(text, format).find(path, at);
}

/** The rule table as a list, for docs and `--help`. */
export function listRules(): Array<{ rule: RuleId; severity: string; description: string }> {
  return (Object.keys(RULES) as RuleId[]).map((rule) => ({ rule, ...RULES[rule] }));
}

export type { SpecFormat };
export type { Segment } from './limits.js';
