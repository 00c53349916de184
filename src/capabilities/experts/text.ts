import { stemmer } from 'stemmer';

/**
 * Word sets for comparing recommendations and free-text answers: lower-cased words, English stop
 * words dropped, each reduced to its Porter stem ("limits", "limiting" → "limit"). A stemmer is not a
 * dictionary lemmatiser: irregular forms ("ran"/"run") stay apart. That is the honest limit here.
 */
const STOP = new Set(
  ('a an and are as at be been but by can could do does for from has have if in into is it its it\'s may ' +
    'might must of on or our should so such than that the their them then there these they this those to ' +
    'too up was we were what when where which while who will with would you your all any each also more most ' +
    'not no only own same very via per please consider ensure make sure').split(' '),
);

const MAX_WORDS = 64;
const WORD = /[\p{L}\p{N}]+(?:[-_.][\p{L}\p{N}]+)*/gu;
const memo = new Map<string, string>();

function stem(word: string): string {
  let s = memo.get(word);
  if (s === undefined) {
    s = /^\p{L}+$/u.test(word) ? stemmer(word) : word;
    // Porter undoubles a final consonant only after removing a suffix ("adding" → "ad", "add" → "add");
    // undoubling every stem makes both "ad".
    if (s.length > 2 && s.charCodeAt(s.length - 1) === s.charCodeAt(s.length - 2) && /\p{L}/u.test(s[s.length - 1]!)) s = s.slice(0, -1);
    if (memo.size > 10_000) memo.clear();
    memo.set(word, s);
  }
  return s;
}

/** The lemma set of `text` (at most 64 distinct words), sorted, for overlap comparisons. */
export function lemmaSet(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const w = m[0];
    if (STOP.has(w)) continue;
    out.add(stem(w));
    if (out.size >= MAX_WORDS) break;
  }
  return [...out].sort();
}

/** Jaccard similarity of two sorted lemma sets: |A∩B| / |A∪B| (1 when both are empty). */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}

/** A normal form of a short free-text answer: its lemma set joined, or the trimmed lower-case text when it has no content words. */
export function answerKey(text: string): string {
  const set = lemmaSet(text);
  return set.length > 0 ? set.join(' ') : text.trim().toLowerCase();
}
