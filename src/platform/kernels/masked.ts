// The masked-text rule, shared by the `maskedHash` kernel (WASM in ./assembly, JS twin here) and the
// display form `maskText`: a word is a run of [0-9A-Za-z_-] or bytes >= 0x80; a word that contains a
// digit, or is made of 8+ hex letters, stands for a single `#`. So `user 4711 from 10.0.3.7, req
// 5f3a-9c` and `user 12 from 10.0.0.1, req 77b1-0d` both read `user # from #.#.#.#, req #` and hash
// the same. Used to group log messages (and any text that differs only by ids and numbers).

/** per byte: 0 delimiter, else 8 | (4 digit, 2 hex letter, 1 other word byte) */
const FLAGS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (c >= 48 && c <= 57) FLAGS[c] = 12;
  else if ((c >= 65 && c <= 70) || (c >= 97 && c <= 102)) FLAGS[c] = 10;
  else if ((c >= 71 && c <= 90) || (c >= 103 && c <= 122) || c === 95 || c === 45 || c >= 128) FLAGS[c] = 9;
}

/**
 * 53-bit hash of the masked form of b[s, e), a function of the masked text alone (so two texts with
 * the same maskText hash the same): FNV-1a over its bytes, except that a kept word is taken four
 * bytes per step (a murmur-style mix) then byte by byte; a second 32-bit state folds in at the end
 * of every kept word. `seed` separates keys that share text but differ in something not hashed (an
 * HTTP status).
 */
export function maskedHash(b: Uint8Array, s: number, e: number, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  let g = 0x2545f491;
  let i = s;
  while (i < e) {
    let c = b[i]!;
    let f = FLAGS[c]!;
    if (f === 0) {
      h = Math.imul(h ^ c, 16777619);
      i++;
      continue;
    }
    const ws = i;
    let acc = 0;
    for (;;) {
      acc |= f;
      if (++i >= e) break;
      c = b[i]!;
      f = FLAGS[c]!;
      if (f === 0) break;
    }
    if ((acc & 4) !== 0 || ((acc & 1) === 0 && i - ws >= 8)) {
      h = Math.imul(h ^ 35, 16777619);
    } else {
      let j = ws;
      for (; j + 4 <= i; j += 4) {
        h = Math.imul(h ^ (b[j]! | (b[j + 1]! << 8) | (b[j + 2]! << 16) | (b[j + 3]! << 24)), 0x5bd1e995);
        h ^= h >>> 13;
      }
      for (; j < i; j++) h = Math.imul(h ^ b[j]!, 16777619);
      g = Math.imul(g ^ h, 0x5bd1e995);
      g ^= g >>> 15;
    }
  }
  return (h >>> 0) * 2097152 + ((g >>> 11) & 0x1fffff);
}

/** The masked form of a text, for display: the same rule as maskedHash, on UTF-16 text. */
export function maskText(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if ((c < 256 ? FLAGS[c]! : 9) === 0) {
      out += text[i];
      i++;
      continue;
    }
    let j = i;
    let acc = 0;
    while (j < n) {
      const d = text.charCodeAt(j);
      const f = d < 256 ? FLAGS[d]! : 9;
      if (f === 0) break;
      acc |= f;
      j++;
    }
    out += (acc & 4) !== 0 || ((acc & 1) === 0 && j - i >= 8) ? '#' : text.slice(i, j);
    i = j;
  }
  return out;
}
