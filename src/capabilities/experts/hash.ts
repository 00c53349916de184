import { createHash } from 'node:crypto';
import type { Question } from './types.js';

/** JSON with object keys sorted, so equal content always serialises (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/**
 * The content hash of a consultation: question, kind, choices, context and the set of experts asked
 * (their fingerprints, sorted), plus options that change the result. The cache key and the seed of
 * every shuffle.
 */
export function consultationHash(q: Question, expertFingerprints: readonly string[], options: Record<string, unknown> = {}): string {
  const body = canonicalJson({
    v: 1,
    kind: q.kind ?? 'question',
    question: q.question,
    choices: q.choices ?? null,
    context: q.context ?? null,
    experts: [...expertFingerprints].sort(),
    options,
  });
  return createHash('sha256').update(body).digest('hex');
}
