/**
 * Heuristics for "this environment value looks like a secret". They only ever produce warnings,
 * and callers must never echo the value: the reason names the pattern, not the content.
 */
const SECRET_KEY_RE = /(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth[_-]?key|client[_-]?secret|signing[_-]?key|encryption[_-]?key|dsn)$|^(pass(word|wd)?|secret|token)/i;

/** Values that are clearly indirections, not literal secrets. */
const REFERENCE_RE = /^(\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*|(env|vault|secret|secrets|aws-sm|gcp-sm|file|ref):.+|<[^>]+>|\*+|x+|changeme|change-me|placeholder|redacted|none|null|example|dummy|test)$/i;

const VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, 'a GitHub token'],
  [/\bgithub_pat_[A-Za-z0-9_]{40,}\b/, 'a GitHub token'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/, 'a Slack token'],
  [/\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b/, 'an API secret key'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, 'a Google API key'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'a JSON Web Token'],
  [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, 'a URL with an embedded password'],
];

/** One scan that every pattern above needs to match first: most values skip the list entirely. */
const PATTERN_HINT = /-----BEGIN|AKIA|gh[pousr]_|github_pat_|xox[abprs]-|sk-|AIza|eyJ|:\/\//;

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Why `value` (under `key`) looks like a secret, or undefined when it does not.
 *   secretReason('DB_PASSWORD', 'hunter22') → 'its name suggests a secret and it holds a literal value'
 *   secretReason('DB_PASSWORD', '${DB_PASSWORD}') → undefined (a reference)
 */
export function secretReason(key: string, value: string): string | undefined {
  // Cheapest gates first: this runs on every environment value of every spec.
  if (value.length === 0) return undefined;
  if (PATTERN_HINT.test(value)) {
    const v = value.trim();
    for (const [re, what] of VALUE_PATTERNS) if (re.test(v)) return `its value looks like ${what}`;
  }
  if (secretName(key)) {
    const v = value.trim();
    if (v.length >= 4 && !REFERENCE_RE.test(v) && !/^(true|false|yes|no|on|off|\d{1,5})$/i.test(v)) return 'its name suggests a secret and it holds a literal value';
    return undefined;
  }
  // Long random-looking tokens (base64/hex keys) under any name.
  if (value.length >= 24 && value.length <= 4096 && !/[\s/]/.test(value) && /\d/.test(value) && /[A-Za-z]/.test(value) && !REFERENCE_RE.test(value) && entropy(value) >= 4.2) {
    return 'its value looks like a random key or token';
  }
  return undefined;
}

// Names repeat across services (PORT, DATABASE_URL...): remember the verdict, within a bound.
const nameCache = new Map<string, boolean>();
function secretName(key: string): boolean {
  let hit = nameCache.get(key);
  if (hit === undefined) {
    hit = SECRET_KEY_RE.test(key);
    if (nameCache.size >= 4096) nameCache.clear();
    nameCache.set(key, hit);
  }
  return hit;
}
