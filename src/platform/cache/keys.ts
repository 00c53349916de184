import { CacheError } from './errors.js';

/**
 * Key layout. A key in the root namespace is stored as is; a key in namespace `users/orders` is stored
 * as `users\x1forders\x1f<key>`. Keys may hold any character but the C0/C1 controls, so the unit
 * separator (\x1f) can never appear inside a user key and two (namespace, key) pairs never collide;
 * the root path needs no concatenation, which keeps the L1 hit path free of string building.
 */
export const NS_SEP = '\x1f';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const NAMESPACE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Throws CACHE_KEY_INVALID unless `key` is a usable key (or tag, per `kind`). */
export function checkKey(key: unknown, maxLength: number, kind: 'key' | 'tag' = 'key'): asserts key is string {
  if (typeof key !== 'string') {
    throw new CacheError('CACHE_KEY_INVALID', `cache ${kind} must be a string, got ${key === null ? 'null' : typeof key}`, { kind, type: typeof key });
  }
  if (key.length === 0 || key.length > maxLength) {
    throw new CacheError('CACHE_KEY_INVALID', `cache ${kind} must be 1..${maxLength} characters, got ${key.length}`, { kind, length: key.length, limit: maxLength });
  }
  if (CONTROL.test(key)) {
    throw new CacheError('CACHE_KEY_INVALID', `cache ${kind} ${JSON.stringify(key.slice(0, 80))} contains a control character`, { kind, key: key.slice(0, 80) });
  }
}

export function checkNamespace(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAMESPACE_RE.test(name)) {
    throw new CacheError('CACHE_KEY_INVALID', `cache namespace must match ${NAMESPACE_RE.source}, got ${JSON.stringify(String(name).slice(0, 80))}`, {
      kind: 'namespace',
      namespace: String(name).slice(0, 80),
    });
  }
}

/** `users/orders` → the stored prefix `users\x1forders\x1f`; '' → ''. */
export function namespacePrefix(path: string): string {
  if (path === '') return '';
  const parts = path.split('/');
  for (const p of parts) checkNamespace(p);
  return parts.join(NS_SEP) + NS_SEP;
}

/** Splits a stored key into its namespace path (`users/orders`, '' for the root) and user key. */
export function splitStored(stored: string): { path: string; key: string } {
  const i = stored.lastIndexOf(NS_SEP);
  if (i < 0) return { path: '', key: stored };
  return { path: stored.slice(0, i).split(NS_SEP).join('/'), key: stored.slice(i + 1) };
}

/** Escapes Redis glob metacharacters so `s` matches itself in SCAN MATCH. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** A compiled `*` glob: `match` returns the text each `*` covered, or undefined. */
export interface Glob {
  readonly source: string;
  match(s: string): string[] | undefined;
}

/**
 * A user pattern (`user:*:profile`, only `*` is special) compiled to a linear-time matcher: the literal
 * pieces are placed leftmost in order (which finds a match whenever one exists), so no pattern can make
 * matching backtrack the way a RegExp built from it could.
 */
export function compileGlob(pattern: string): Glob {
  const parts = pattern.split('*');
  if (parts.length > 9) throw new CacheError('CACHE_OPTIONS_INVALID', `pattern ${JSON.stringify(pattern)} has more than 8 wildcards`, { pattern });
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  return {
    source: pattern,
    match(s: string): string[] | undefined {
      if (parts.length === 1) return s === first ? [] : undefined;
      if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return undefined;
      const end = s.length - last.length;
      const captures: string[] = [];
      let pos = first.length;
      for (let i = 1; i < parts.length - 1; i++) {
        const at = s.indexOf(parts[i]!, pos);
        if (at < 0 || at + parts[i]!.length > end) return undefined;
        captures.push(s.slice(pos, at));
        pos = at + parts[i]!.length;
      }
      captures.push(s.slice(pos, end));
      return captures;
    },
  };
}
