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

const isAlnum = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
const isJoiner = (c: number): boolean => c === 45 || c === 46 || c === 95; // - . _

/** Words of lower-cased text: letters and digits, joined by "-", "." or "_" between them ("users.email"). */
function words(lower: string, out: string[]): void {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(lower)) {
    for (const m of lower.matchAll(WORD)) out.push(m[0]);
    return;
  }
  // ASCII fast path, the same tokens as WORD without a Unicode regex.
  const n = lower.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isAlnum(lower.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n) {
      const c = lower.charCodeAt(i);
      if (isAlnum(c)) i++;
      else if (isJoiner(c) && i + 1 < n && isAlnum(lower.charCodeAt(i + 1))) i += 2;
      else break;
    }
    out.push(lower.slice(start, i));
  }
}

/** The lemma set of `text` (at most 64 distinct words), sorted, for overlap comparisons. */
export function lemmaSet(text: string): string[] {
  const out = new Set<string>();
  const ws: string[] = [];
  words(text.toLowerCase(), ws);
  for (const w of ws) {
    if (STOP.has(w)) continue;
    out.add(stem(w));
    if (out.size >= MAX_WORDS) break;
  }
  return [...out].sort();
}

/**
 * Lemmas as small integers, for fast set comparisons within one computation. Ids are only
 * comparable between sets made by the same interner.
 */
export class LemmaInterner {
  private readonly ids = new Map<string, number>();

  /** The sorted, distinct ids of `text`'s lemmas. */
  idsOf(text: string): Int32Array {
    const lemmas = lemmaSet(text);
    const out = new Int32Array(lemmas.length);
    for (let i = 0; i < lemmas.length; i++) {
      const l = lemmas[i]!;
      let id = this.ids.get(l);
      if (id === undefined) {
        id = this.ids.size;
        this.ids.set(l, id);
      }
      out[i] = id;
    }
    return out.sort();
  }
}

/** Jaccard similarity of two sorted id sets (1 when both are empty). */
export function jaccardIds(a: Int32Array, b: Int32Array): number {
  const la = a.length;
  const lb = b.length;
  if (la === 0 && lb === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < la && j < lb) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (la + lb - inter);
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
