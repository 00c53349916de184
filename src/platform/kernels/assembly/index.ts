// AssemblyScript kernels, compiled with `--enable simd` by scripts/build-steps/10-kernels.mjs into
// build/kernels/kernels.wasm. Every function works on raw pointers into this module's linear memory:
// the JS side (src/platform/kernels/wasm.ts) copies inputs above `heapBase()` and reads results back.
// The runtime is `stub` and nothing here allocates, so the heap is entirely the caller's.
//
// Each kernel has a JS twin in src/platform/kernels/js.ts; property tests check they agree.

/** First free byte after static data: the caller's scratch space starts here. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

// ---------------------------------------------------------------------------------------------
// f32 reductions. Four vector accumulators (16 lanes) keep the adds independent (latency hiding)
// and make the rounding error grow with n/16 rather than n.

export function sumF32(p: usize, n: i32): f64 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const q = p + (<usize>i << 2);
    a0 = f32x4.add(a0, v128.load(q));
    a1 = f32x4.add(a1, v128.load(q, 16));
    a2 = f32x4.add(a2, v128.load(q, 32));
    a3 = f32x4.add(a3, v128.load(q, 48));
  }
  for (; i + 4 <= n; i += 4) a0 = f32x4.add(a0, v128.load(p + (<usize>i << 2)));
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s: f32 = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
  for (; i < n; i++) s += load<f32>(p + (<usize>i << 2));
  return <f64>s;
}

export function dotF32(pa: usize, pb: usize, n: i32): f64 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const qa = pa + (<usize>i << 2);
    const qb = pb + (<usize>i << 2);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(qa), v128.load(qb)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(qa, 16), v128.load(qb, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(qa, 32), v128.load(qb, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(qa, 48), v128.load(qb, 48)));
  }
  for (; i + 4 <= n; i += 4) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(pa + (<usize>i << 2)), v128.load(pb + (<usize>i << 2))));
  }
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s: f32 = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
  for (; i < n; i++) s += load<f32>(pa + (<usize>i << 2)) * load<f32>(pb + (<usize>i << 2));
  return <f64>s;
}

/**
 * mean, population variance, min, max of n floats (n >= 1), written as four f64 at `out`.
 * Two passes (sum, then squared deviations from the mean): the one-pass formula cancels badly in f32.
 */
export function statsF32(p: usize, n: i32, out: usize): void {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let mn = f32x4.splat(Infinity);
  let mx = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const q = p + (<usize>i << 2);
    const v0 = v128.load(q);
    const v1 = v128.load(q, 16);
    s0 = f32x4.add(s0, v0);
    s1 = f32x4.add(s1, v1);
    mn = f32x4.min(mn, f32x4.min(v0, v1));
    mx = f32x4.max(mx, f32x4.max(v0, v1));
  }
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    s0 = f32x4.add(s0, v);
    mn = f32x4.min(mn, v);
    mx = f32x4.max(mx, v);
  }
  const sv = f32x4.add(s0, s1);
  let s: f32 = f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1) + f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3);
  let lo: f32 = min(min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  let hi: f32 = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
  for (; i < n; i++) {
    const x = load<f32>(p + (<usize>i << 2));
    s += x;
    lo = min(lo, x);
    hi = max(hi, x);
  }
  const mean: f32 = s / <f32>n;
  const m = f32x4.splat(mean);
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const q = p + (<usize>i << 2);
    const e0 = f32x4.sub(v128.load(q), m);
    const e1 = f32x4.sub(v128.load(q, 16), m);
    d0 = f32x4.add(d0, f32x4.mul(e0, e0));
    d1 = f32x4.add(d1, f32x4.mul(e1, e1));
  }
  for (; i + 4 <= n; i += 4) {
    const e = f32x4.sub(v128.load(p + (<usize>i << 2)), m);
    d0 = f32x4.add(d0, f32x4.mul(e, e));
  }
  const dv = f32x4.add(d0, d1);
  let d: f32 = f32x4.extract_lane(dv, 0) + f32x4.extract_lane(dv, 1) + f32x4.extract_lane(dv, 2) + f32x4.extract_lane(dv, 3);
  for (; i < n; i++) {
    const e: f32 = load<f32>(p + (<usize>i << 2)) - mean;
    d += e * e;
  }
  store<f64>(out, <f64>mean);
  store<f64>(out, <f64>(d / <f32>n), 8);
  store<f64>(out, <f64>lo, 16);
  store<f64>(out, <f64>hi, 24);
}

/** Smallest of n >= 1 floats (SIMD); used by the percentile to find the next order statistic. */
function minF32(p: usize, n: i32): f32 {
  let mn = f32x4.splat(Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) mn = f32x4.min(mn, v128.load(p + (<usize>i << 2)));
  let lo: f32 = min(min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  for (; i < n; i++) lo = min(lo, load<f32>(p + (<usize>i << 2)));
  return lo;
}

/**
 * The q-th percentile (0..100, linear interpolation between closest ranks, as numpy's default) of the
 * n floats at `p`. Works in place on `p` (the caller passes a scratch copy): Hoare quickselect with a
 * median-of-three pivot for rank floor(pos), then the next rank is the minimum of the right part.
 */
export function percentileF32(p: usize, n: i32, q: f64): f64 {
  const pos = q / 100.0 * <f64>(n - 1);
  const k = <i32>Math.floor(pos);
  let left = 0;
  let right = n - 1;
  while (right > left) {
    const mid = left + ((right - left) >> 1);
    // median of three, moved to `mid`
    let a = load<f32>(p + (<usize>left << 2));
    let b = load<f32>(p + (<usize>mid << 2));
    let c = load<f32>(p + (<usize>right << 2));
    if (a > b) { const t = a; a = b; b = t; }
    if (b > c) { const t = b; b = c; c = t; if (a > b) { const u = a; a = b; b = u; } }
    const pivot = b;
    let i = left - 1;
    let j = right + 1;
    while (true) {
      do { i++; } while (load<f32>(p + (<usize>i << 2)) < pivot);
      do { j--; } while (load<f32>(p + (<usize>j << 2)) > pivot);
      if (i >= j) break;
      const pi = p + (<usize>i << 2);
      const pj = p + (<usize>j << 2);
      const t = load<f32>(pi);
      store<f32>(pi, load<f32>(pj));
      store<f32>(pj, t);
    }
    if (k <= j) right = j;
    else left = j + 1;
  }
  const lo = <f64>load<f32>(p + (<usize>k << 2));
  const frac = pos - <f64>k;
  if (frac == 0 || k + 1 >= n) return lo;
  const hi = <f64>minF32(p + (<usize>(k + 1) << 2), n - k - 1);
  return lo + frac * (hi - lo);
}

// ---------------------------------------------------------------------------------------------
// Bytes.

/** How many of the n bytes at p equal b. i8 lane counters are flushed every 255 blocks. */
export function countByte(p: usize, n: i32, b: i32): i32 {
  const needle = i8x16.splat(<i8>b);
  let total = i32x4.splat(0);
  let i = 0;
  while (i + 16 <= n) {
    let acc = i8x16.splat(0);
    let blocks = 0;
    for (; blocks < 255 && i + 16 <= n; blocks++, i += 16) {
      // eq yields 0xFF (-1) per matching lane: subtracting counts it.
      acc = i8x16.sub(acc, i8x16.eq(v128.load(p + <usize>i), needle));
    }
    total = i32x4.add(total, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(acc)));
  }
  let c = i32x4.extract_lane(total, 0) + i32x4.extract_lane(total, 1) + i32x4.extract_lane(total, 2) + i32x4.extract_lane(total, 3);
  for (; i < n; i++) if (<i32>load<u8>(p + <usize>i) == b) c++;
  return c;
}

/**
 * Writes the offsets of every byte equal to b in [p, p+n) as i32 at `out` (at most `max` of them)
 * and returns how many it wrote. This is the log analyzer's line splitter.
 */
export function byteOffsets(p: usize, n: i32, b: i32, out: usize, max: i32): i32 {
  const needle = i8x16.splat(<i8>b);
  let c = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let mask = i8x16.bitmask(i8x16.eq(v128.load(p + <usize>i), needle));
    while (mask != 0) {
      if (c >= max) return c;
      store<i32>(out + (<usize>c << 2), i + ctz(mask));
      c++;
      mask &= mask - 1;
    }
  }
  for (; i < n; i++) {
    if (<i32>load<u8>(p + <usize>i) == b) {
      if (c >= max) return c;
      store<i32>(out + (<usize>c << 2), i);
      c++;
    }
  }
  return c;
}

/**
 * First index >= from of the m-byte needle at `pn` in the n-byte haystack at `ph`, or -1.
 * SIMD filter on the needle's first and last byte (16 candidate positions per step), then a
 * memory compare for the survivors.
 */
export function indexOfBytes(ph: usize, n: i32, pn: usize, m: i32, from: i32): i32 {
  if (m == 0) return from <= n ? from : -1;
  if (m > n) return -1;
  const first = i8x16.splat(load<i8>(pn));
  const last = i8x16.splat(load<i8>(pn + <usize>(m - 1)));
  let i = from;
  const limit = n - m; // last valid start
  for (; i + 15 <= limit; i += 16) {
    const f = i8x16.eq(v128.load(ph + <usize>i), first);
    const l = i8x16.eq(v128.load(ph + <usize>(i + m - 1)), last);
    let mask = i8x16.bitmask(v128.and(f, l));
    while (mask != 0) {
      const at = i + ctz(mask);
      if (m <= 2 || memory.compare(ph + <usize>at + 1, pn + 1, <usize>(m - 2)) == 0) return at;
      mask &= mask - 1;
    }
  }
  for (; i <= limit; i++) {
    if (memory.compare(ph + <usize>i, pn, <usize>m) == 0) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Bitsets (u32 words): popcount and Jaccard similarity for consensus grouping.

export function popcount(p: usize, words: i32): i32 {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= words; i += 4) {
    const c = i8x16.popcnt(v128.load(p + (<usize>i << 2)));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(c)));
  }
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < words; i++) s += popcnt(load<u32>(p + (<usize>i << 2)));
  return s;
}

/** |A ∩ B| / |A ∪ B| over two bitsets of `words` u32 each; 1 when both are empty. */
export function jaccard(pa: usize, pb: usize, words: i32): f64 {
  let inter = i32x4.splat(0);
  let uni = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= words; i += 4) {
    const a = v128.load(pa + (<usize>i << 2));
    const b = v128.load(pb + (<usize>i << 2));
    inter = i32x4.add(inter, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(v128.and(a, b)))));
    uni = i32x4.add(uni, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(v128.or(a, b)))));
  }
  let si = i32x4.extract_lane(inter, 0) + i32x4.extract_lane(inter, 1) + i32x4.extract_lane(inter, 2) + i32x4.extract_lane(inter, 3);
  let su = i32x4.extract_lane(uni, 0) + i32x4.extract_lane(uni, 1) + i32x4.extract_lane(uni, 2) + i32x4.extract_lane(uni, 3);
  for (; i < words; i++) {
    const a = load<u32>(pa + (<usize>i << 2));
    const b = load<u32>(pb + (<usize>i << 2));
    si += popcnt(a & b);
    su += popcnt(a | b);
  }
  return su == 0 ? 1.0 : <f64>si / <f64>su;
}

// ---------------------------------------------------------------------------------------------
// Masked text hash: a 53-bit hash of a text in which every word (a run of [0-9A-Za-z_-] or bytes
// >= 0x80) that contains a digit, or is 8+ hex letters, counts as a single '#'. Two log messages that
// differ only in numbers, ids and hex hash the same. FNV-1a over the kept bytes (h) plus a second
// hash folded at each word end (g). The JS twin and the rule's display form are in ../masked.ts.

// per byte: 0 delimiter, else 8 | (4 digit, 2 hex letter, 1 other word byte)
const FLAGS: usize = memory.data(256);

function initFlags(): void {
  for (let c = 0; c < 256; c++) {
    let f: u8 = 0;
    if (c >= 48 && c <= 57) f = 12;
    else if ((c >= 65 && c <= 70) || (c >= 97 && c <= 102)) f = 10;
    else if ((c >= 71 && c <= 90) || (c >= 103 && c <= 122) || c == 95 || c == 45 || c >= 128) f = 9;
    store<u8>(FLAGS + <usize>c, f);
  }
}
initFlags();

export function maskedHash(p: usize, n: i32, seed: i32): f64 {
  let h: u32 = 0x811c9dc5 ^ <u32>seed;
  let g: u32 = 0x2545f491;
  let i = 0;
  while (i < n) {
    let c = <u32>load<u8>(p + <usize>i);
    let f = <u32>load<u8>(FLAGS + <usize>c);
    if (f == 0) {
      h = (h ^ c) * 16777619;
      i++;
      continue;
    }
    const ws = i;
    let acc: u32 = 0;
    while (true) {
      acc |= f;
      i++;
      if (i >= n) break;
      c = <u32>load<u8>(p + <usize>i);
      f = <u32>load<u8>(FLAGS + <usize>c);
      if (f == 0) break;
    }
    if ((acc & 4) != 0 || ((acc & 1) == 0 && i - ws >= 8)) {
      h = (h ^ 35) * 16777619; // a masked word reads '#', which is not a word character
    } else {
      // a kept word: four bytes per step, then the tail; g folds at its end
      let j = ws;
      for (; j + 4 <= i; j += 4) {
        h = (h ^ load<u32>(p + <usize>j)) * 0x5bd1e995;
        h ^= h >> 13;
      }
      for (; j < i; j++) h = (h ^ <u32>load<u8>(p + <usize>j)) * 16777619;
      g = (g ^ h) * 0x5bd1e995;
      g ^= g >> 15;
    }
  }
  return <f64>h * 2097152.0 + <f64>((g >> 11) & 0x1fffff);
}

// ---------------------------------------------------------------------------------------------
// The log analyzer's level pass: splits b[s0, len) into lines (SIMD search for '\n') and gives each
// complete line a level and a format by the rules of LogAccumulator in levels mode
// (src/capabilities/logs/accumulate.ts): ISO-timestamped lines (bare or bracketed), JSON lines,
// syslog (<PRI>, RFC 5424, RFC 3164), logfmt, access logs and plain lines. A property test keeps
// the two in agreement. Counts go to `out` (i32, zeroed here):
//   [0..6] levels fatal error warn info debug trace unknown, [7..13] formats iso syslog json access
//   logfmt plain none, [14] blank lines, [15] malformed, [16] lines, [17] start of the first
//   incomplete line (where the caller's carry begins).

const SEPS: usize = memory.data(256);
function initSeps(): void {
  const s = " \t[]()|:-,<>=\"'";
  for (let i = 0; i < s.length; i++) store<u8>(SEPS + <usize>s.charCodeAt(i), 1);
}
initSeps();

@inline function sep(c: u32): bool {
  return load<u8>(SEPS + <usize>c) != 0;
}
@inline function alpha(c: u32): bool {
  const l = c | 32;
  return l >= 97 && l <= 122;
}
@inline function digit(c: u32): bool {
  return c - 48 <= 9;
}
@inline function at(p: usize, i: i32): u32 {
  return <u32>load<u8>(p + <usize>i);
}

const FATAL = 0, ERROR = 1, WARN = 2, INFO = 3, DEBUG = 4, TRACE = 5, UNKNOWN = 6;
const F_ISO = 0, F_SYSLOG = 1, F_JSON = 2, F_ACCESS = 3, F_LOGFMT = 4, F_PLAIN = 5, F_NONE = 6;

/** The level of the line being classified (LogAccumulator.lvl). */
let lvl: i32 = UNKNOWN;

function tailIs(p: usize, s: i32, word: string, m: u32): bool {
  for (let i = 0; i < word.length; i++) if ((at(p, s + i) & m) != <u32>word.charCodeAt(i)) return false;
  return true;
}

/** The level index of the letters-only word at p+s (len bytes), or -1; ci: any case. */
@inline function levelWord(p: usize, s: i32, len: i32, ci: bool): i32 {
  if (len < 3 || len > 9) return -1;
  const m: u32 = ci ? 0xdf : 0xff;
  if (len == 3) {
    const w = ((at(p, s) & m) << 16) | ((at(p, s + 1) & m) << 8) | (at(p, s + 2) & m);
    if (w == 0x455252) return ERROR; // ERR
    if (w == 0x57524e) return WARN; // WRN
    if (w == 0x494e46) return INFO; // INF
    if (w == 0x444247) return DEBUG; // DBG
    if (w == 0x545243) return TRACE; // TRC
    if (w == 0x46544c || w == 0x435254) return FATAL; // FTL CRT
    return -1;
  }
  const w = ((at(p, s) & m) << 24) | ((at(p, s + 1) & m) << 16) | ((at(p, s + 2) & m) << 8) | (at(p, s + 3) & m);
  const t = s + 4;
  if (len == 4) {
    if (w == 0x5741524e) return WARN; // WARN
    if (w == 0x494e464f) return INFO; // INFO
    if (w == 0x4552524f) return ERROR; // ERRO
    if (w == 0x44454255) return DEBUG; // DEBU
    if (w == 0x43524954 || w == 0x46415441) return FATAL; // CRIT FATA
    return -1;
  }
  if (len == 5) {
    const c = at(p, t) & m;
    if (w == 0x4552524f) return c == 82 ? ERROR : -1; // ERROR
    if (w == 0x44454255) return c == 71 ? DEBUG : -1; // DEBUG
    if (w == 0x54524143) return c == 69 ? TRACE : -1; // TRACE
    if (w == 0x46415441) return c == 76 ? FATAL : -1; // FATAL
    if (w == 0x50414e49) return c == 67 ? FATAL : -1; // PANIC
    if (w == 0x414c4552) return c == 84 ? FATAL : -1; // ALERT
    if (w == 0x454d4552) return c == 71 ? FATAL : -1; // EMERG
    return -1;
  }
  if (len == 6) {
    if (w == 0x53455645) return tailIs(p, t, 'RE', m) ? ERROR : -1; // SEVERE
    if (w == 0x4e4f5449) return tailIs(p, t, 'CE', m) ? INFO : -1; // NOTICE
    return -1;
  }
  if (len == 7) {
    if (w == 0x5741524e) return tailIs(p, t, 'ING', m) ? WARN : -1; // WARNING
    if (w == 0x56455242) return tailIs(p, t, 'OSE', m) ? TRACE : -1; // VERBOSE
    return -1;
  }
  if (len == 8) return w == 0x43524954 && tailIs(p, t, 'ICAL', m) ? FATAL : -1; // CRITICAL
  return w == 0x454d4552 && tailIs(p, t, 'GENCY', m) ? FATAL : -1; // EMERGENCY
}

/** 1..12 for a three-letter month abbreviation in any case, else 0. */
@inline function monthOf(a: u32, b: u32, c: u32): i32 {
  const w = ((a & 0xdf) << 16) | ((b & 0xdf) << 8) | (c & 0xdf);
  if (w == 0x4a414e) return 1;
  if (w == 0x464542) return 2;
  if (w == 0x4d4152) return 3;
  if (w == 0x415052) return 4;
  if (w == 0x4d4159) return 5;
  if (w == 0x4a554e) return 6;
  if (w == 0x4a554c) return 7;
  if (w == 0x415547) return 8;
  if (w == 0x534550) return 9;
  if (w == 0x4f4354) return 10;
  if (w == 0x4e4f56) return 11;
  if (w == 0x444543) return 12;
  return 0;
}

/** The decimal of n digits at b+p, or -1. */
function num(b: usize, p: i32, n: i32): i32 {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = at(b, p + i) - 48;
    if (d > 9) return -1;
    v = v * 10 + <i32>d;
  }
  return v;
}

// Upper and lower bounds of the two-digit fields of `YYYY-MM-DDTHH:MM` (lanes 5-6 month 01..12,
// 8-9 day 01..31, 11-12 hour ..23, 14-15 minute ..59); 0xff / 0 where nothing is bounded. Once every
// field is known to be digits, comparing the ASCII pairs is comparing the numbers.
const ISO_MAX = v128(-1, -1, -1, -1, -1, 0x31, 0x32, -1, 0x33, 0x31, -1, 0x32, 0x33, -1, 0x35, 0x39);
const ISO_MIN = v128(0, 0, 0, 0, 0, 0x30, 0x31, 0, 0x30, 0x31, 0, 0, 0, 0, 0, 0);
// seconds ..60 at lanes 1-2 of the second 16 bytes
const SEC_MAX = v128(-1, 0x36, 0x30, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);

/** Bit i set when the two-digit field at lanes i, i+1 is <= (max) or >= (min) the bound's pair. */
@inline function pairLe(v: v128, bound: v128): i32 {
  const le = i8x16.bitmask(i8x16.le_u(v, bound));
  return i8x16.bitmask(i8x16.lt_u(v, bound)) | (le & (le >> 1));
}
@inline function pairGe(v: v128, bound: v128): i32 {
  const ge = i8x16.bitmask(i8x16.ge_u(v, bound));
  return i8x16.bitmask(i8x16.gt_u(v, bound)) | (ge & (ge >> 1));
}

/** End of the ISO timestamp at p (the caller checked the dashes), or -1 (the rules of isoTime). */
@inline function isoEnd(b: usize, p: i32, e: i32): i32 {
  if (p + 19 > e) return -1;
  // 32 bytes from p (the line may be shorter: only lanes before e decide anything below)
  const v = v128.load(b + <usize>p);
  const w = v128.load(b + <usize>p, 16);
  const nine = i8x16.splat(9);
  const zero = i8x16.splat(48);
  const dv = i8x16.bitmask(i8x16.le_u(i8x16.sub(v, zero), nine));
  const dw = i8x16.bitmask(i8x16.le_u(i8x16.sub(w, zero), nine));
  const t = at(b, p + 10) | 32;
  // digits at 0-3 5-6 8-9 11-12 14-15 17-18, ':' at 13 and 16, 'T' 't' or ' ' at 10, every field in range
  const ok = (dv & 0xdb6f) == 0xdb6f && (dw & 6) == 6 && at(b, p + 13) == 58 && at(b, p + 16) == 58 && (t == 116 || t == 32) &&
    (pairLe(v, ISO_MAX) & 0x4920) == 0x4920 && (pairGe(v, ISO_MIN) & 0x120) == 0x120 && (pairLe(w, SEC_MAX) & 2) == 2;
  if (!ok) return -1;
  let q = p + 19;
  let c: u32 = q < e ? at(b, q) : 0;
  if (c == 46 || c == 44) {
    // the run of fraction digits: lanes 4.. of the second 16 bytes, then byte by byte
    const nd = ~dw & 0xfff0;
    if (nd != 0) q = min(p + 16 + <i32>ctz(nd), e);
    else {
      q = p + 32;
      while (q < e && digit(at(b, q))) q++;
      if (q > e) q = e;
    }
    c = q < e ? at(b, q) : 0;
  }
  if (c == 90 || c == 122) q++;
  else if ((c == 43 || c == 45) && q + 3 <= e) {
    const a0 = at(b, q + 1), a1 = at(b, q + 2);
    let r = q + 3;
    if (r < e && at(b, r) == 58) r++;
    if (r + 2 <= e && digit(a0) && digit(a1) && digit(at(b, r)) && digit(at(b, r + 1))) q = r + 2;
  }
  return q;
}

/** levelScan: a level word among the first `tokens` tokens from p (the first in any case). */
function levelScan(b: usize, p: i32, e: i32, tokens: i32): bool {
  return levelScanFrom(b, p, e, 0, tokens);
}

/** levelScan from token index t (the first token, t == 0, is matched in any case). */
function levelScanFrom(b: usize, p: i32, e: i32, t: i32, tokens: i32): bool {
  for (; t < tokens && p < e; t++) {
    while (p < e && sep(at(b, p))) p++;
    const s = p;
    while (p < e && alpha(at(b, p))) p++;
    if (p < e && !sep(at(b, p))) {
      while (p < e && !sep(at(b, p))) p++;
      continue;
    }
    const lv = levelWord(b, s, p - s, t == 0);
    if (lv >= 0) {
      lvl = lv;
      return true;
    }
  }
  return false;
}

// Separator classification of 16 bytes at once (the nibble-table trick): a byte is a separator when
// LO[low nibble] & HI[high nibble] != 0. Groups by high nibble: 0x0 → 1 (\t), 0x2 → 2 (space " ' ( ) , -),
// 0x3 → 4 (: < = >), 0x5 → 8 ([ ]), 0x7 → 16 (|).
const SEP_LO = v128(0x02, 0, 0x02, 0, 0, 0, 0, 0x02, 0x02, 0x03, 0x04, 0x08, 0x16, 0x0e, 0x04, 0);
const SEP_HI = v128(0x01, 0, 0x02, 0x04, 0, 0x08, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0);

@inline function sepMask16(v: v128): i32 {
  const lo = i8x16.swizzle(SEP_LO, v128.and(v, i8x16.splat(15)));
  const hi = i8x16.swizzle(SEP_HI, i8x16.shr_u(v, 4));
  return i8x16.bitmask(i8x16.ne(v128.and(lo, hi), i8x16.splat(0)));
}

@inline function alphaMask16(v: v128): i32 {
  return i8x16.bitmask(i8x16.le_u(i8x16.sub(v128.or(v, i8x16.splat(32)), i8x16.splat(97)), i8x16.splat(25)));
}

/**
 * levelScan over a 32-byte window with bit masks instead of byte loops (no unpredictable loop exits);
 * the same result as the scalar loop, to which it hands over when the tokens run past the window.
 */
@inline function levelScanV(b: usize, p: i32, e: i32, tokens: i32): bool {
  const len = e - p;
  if (len <= 0) return false;
  const v0 = v128.load(b + <usize>p);
  const v1 = v128.load(b + <usize>p, 16);
  const valid: u32 = len >= 32 ? 0xffffffff : (<u32>1 << <u32>len) - 1;
  const S: u32 = (<u32>sepMask16(v0) | (<u32>sepMask16(v1) << 16)) & valid;
  const A: u32 = (<u32>alphaMask16(v0) | (<u32>alphaMask16(v1) << 16)) & valid;
  let pos = 0;
  for (let t = 0; t < tokens; t++) {
    // the first non-separator at or after pos
    const rest = ~S & valid & (pos >= 32 ? 0 : <u32>0xffffffff << <u32>pos);
    if (rest == 0) return len <= 32 ? false : levelScanFrom(b, p + 32, e, t, tokens);
    const start = <i32>ctz(rest);
    const na = ~A & (<u32>0xffffffff << <u32>start);
    const end = na == 0 ? 32 : <i32>ctz(na);
    if (end >= 32) return levelScanFrom(b, p + start, e, t, tokens); // the word runs past the window
    if (end < len && ((S >> <u32>end) & 1) == 0) {
      // not a pure word: skip to the next separator
      const next = end >= 32 ? 0 : S & (<u32>0xffffffff << <u32>end);
      if (next == 0) {
        if (len <= 32) return false;
        // the scalar loop would go on skipping from here
        let q = p + end;
        while (q < e && !sep(at(b, q))) q++;
        return levelScanFrom(b, q, e, t + 1, tokens);
      }
      pos = <i32>ctz(next);
      continue;
    }
    const lv = levelWord(b, p + start, end - start, t == 0);
    if (lv >= 0) {
      lvl = lv;
      return true;
    }
    pos = end;
  }
  return false;
}

function plain(b: usize, s: i32, e: i32): i32 {
  return levelScan(b, s, e, 3) ? F_PLAIN : F_NONE;
}

// quickLevel's table: the four letters after the space, hashed ((word * 0x43) >>> 29, a perfect hash
// of INFO WARN ERRO DEBU TRAC FATA), pick one entry: the bytes to match (space and word, as a
// little-endian integer), their mask, the shift of the separator that must follow, and the level.
const QL_PAT: usize = memory.data<u64>([
  0x4c4154414620, 0x100, 0x475542454420, 0x4e52415720, 0x454341525420, 0x4f464e4920, 0x524f52524520, 0x100,
]);
const QL_MASK: usize = memory.data<u64>([
  0xffffffffffff, 0xff, 0xffffffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffff, 0xffffffffffff, 0xff,
]);
const QL_SHIFT: usize = memory.data<u64>([48, 0, 48, 40, 48, 40, 48, 0]);
const QL_LEVEL: usize = memory.data<i32>([FATAL, -1, DEBUG, WARN, TRACE, INFO, ERROR, -1]);

/**
 * The commonest shape after a timestamp, one space then an upper-case level word (INFO WARN ERROR
 * DEBUG TRACE FATAL) and a separator, read as one 8-byte integer and matched through a table (no
 * branch per word); -1 when the line has another shape (levelScan then decides). Agrees with
 * levelScan wherever it answers: that is the word levelScan would take first.
 */
@inline function quickLevel(b: usize, q: i32, e: i32): i32 {
  if (q + 6 >= e) return -1;
  const x = load<u64>(b + <usize>q);
  const h = <usize>((<u32>(x >> 8) * 0x43) >> 29);
  const ok = (x & load<u64>(QL_MASK + (h << 3))) == load<u64>(QL_PAT + (h << 3)) && sep(<u32>(x >> load<u64>(QL_SHIFT + (h << 3))) & 0xff);
  return ok ? load<i32>(QL_LEVEL + (h << 2)) : -1;
}

@inline function iso(b: usize, p: i32, e: i32, bracket: bool): i32 {
  let q = isoEnd(b, p, e);
  if (q < 0) return access(b, p, e);
  if (bracket && q < e && at(b, q) == 93) q++;
  const quick = quickLevel(b, q, e);
  if (quick >= 0) lvl = quick;
  else levelScanV(b, q, e, 4);
  return F_ISO;
}

@inline function access(b: usize, s: i32, e: i32): i32 {
  // the first '[' within 128 bytes, a space before it
  const lim = min(e, s + 129);
  const p = findByte(b, s, lim, 91);
  if (p >= lim || p + 28 >= e || (p > 0 ? at(b, p - 1) : 0) != 32) return plain(b, s, e);
  const d = num(b, p + 1, 2);
  const mo = monthOf(at(b, p + 4), at(b, p + 5), at(b, p + 6));
  const y = num(b, p + 8, 4);
  const h = num(b, p + 13, 2);
  const mi = num(b, p + 16, 2);
  const sec = num(b, p + 19, 2);
  const z = at(b, p + 22);
  const oh = num(b, p + 23, 2);
  const om = num(b, p + 25, 2);
  if (at(b, p + 3) != 47 || at(b, p + 7) != 47 || at(b, p + 12) != 58 || at(b, p + 15) != 58 || at(b, p + 18) != 58 || at(b, p + 21) != 32 || mo == 0 || d < 0 || y < 0 || h < 0 || mi < 0 || sec < 0 || oh < 0 || om < 0 || (z != 43 && z != 45) || at(b, p + 27) != 93) {
    return plain(b, s, e);
  }
  if (d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return plain(b, s, e);
  let q = p + 28;
  if (q + 1 >= e || at(b, q) != 32 || at(b, q + 1) != 34) return plain(b, s, e);
  q += 2;
  // the closing quote; an escaped \" inside the request is skipped
  while (true) {
    const x = findByte(b, q, e, 34);
    if (x >= e) {
      q = e;
      break;
    }
    if (at(b, x - 1) != 92) {
      q = x;
      break;
    }
    q = x + 1;
  }
  const status = q + 5 <= e && at(b, q + 1) == 32 ? num(b, q + 2, 3) : -1;
  if (status < 100) return plain(b, s, e);
  lvl = status >= 500 ? ERROR : status >= 400 ? WARN : INFO;
  return F_ACCESS;
}

// syslog severity 0..7 → level: emerg alert crit → fatal, err → error, warning → warn, notice info → info, debug
const SYSLOG_LEVEL: usize = memory.data<u8>([0, 0, 0, 1, 2, 3, 3, 4]);

@inline function syslogPri(b: usize, s: i32, e: i32): i32 {
  let p = s + 1;
  let pri = 0;
  while (p < e && p < s + 4 && digit(at(b, p))) {
    pri = pri * 10 + <i32>at(b, p) - 48;
    p++;
  }
  if (p == s + 1 || p >= e || at(b, p) != 62 || pri > 191) return plain(b, s, e);
  p++;
  const sev = <i32>load<u8>(SYSLOG_LEVEL + <usize>(pri & 7));
  if (p + 2 < e && at(b, p) >= 49 && at(b, p) <= 57 && at(b, p + 1) == 32) {
    // RFC 5424
    let q = p + 2;
    if (at(b, q) == 45) q++;
    else if (q + 10 < e && at(b, q + 4) == 45 && at(b, q + 7) == 45) q = isoEnd(b, q, e);
    else q = -1;
    if (q < 0) return plain(b, s, e);
    lvl = sev;
    return F_SYSLOG;
  }
  if (e - p >= 16 && at(b, p + 3) == 32 && monthOf(at(b, p), at(b, p + 1), at(b, p + 2)) != 0) {
    const f = syslog3164(b, s, p, e);
    if (f == F_SYSLOG) lvl = sev;
    return f;
  }
  return plain(b, s, e);
}

@inline function syslog3164(b: usize, s: i32, p: i32, e: i32): i32 {
  const d1 = <i32>at(b, p + 4);
  const d = (d1 == 32 ? 0 : d1 - 48) * 10 + (<i32>at(b, p + 5) - 48);
  const h = num(b, p + 7, 2);
  const mi = num(b, p + 10, 2);
  const sec = num(b, p + 13, 2);
  if (!(d >= 1 && d <= 31) || h < 0 || mi < 0 || sec < 0 || at(b, p + 9) != 58 || at(b, p + 12) != 58 || at(b, p + 6) != 32) return plain(b, s, e);
  if (h > 23 || mi > 59 || sec > 60) return plain(b, s, e);
  let q = findByte(b, p + 16, e, 32);
  const limit = min(e, q + 96);
  const r = colonSpace(b, q + 1, limit, e);
  q = r < limit ? r + 1 : q;
  while (q < e && at(b, q) == 32) q++;
  const quick = at(b, q - 1) == 32 ? quickLevel(b, q - 1, e) : -1;
  if (quick >= 0) lvl = quick;
  else levelScanV(b, q, e, 1);
  return F_SYSLOG;
}

/** The first r in [r, limit) with b[r] == ':' followed by a space or the line end e, else limit. */
function colonSpace(b: usize, r: i32, limit: i32, e: i32): i32 {
  const colon = i8x16.splat(58);
  const space = i8x16.splat(32);
  for (; r < limit; r += 16) {
    let m = i8x16.bitmask(i8x16.eq(v128.load(b + <usize>r), colon)) & i8x16.bitmask(i8x16.eq(v128.load(b + <usize>r, 1), space));
    const last = e - 1 - r; // the line's last byte: a colon there ends the tag too
    if (last >= 0 && last < 16 && at(b, e - 1) == 58) m |= 1 << last;
    if (limit - r < 16) m &= (1 << (limit - r)) - 1;
    if (m != 0) return r + <i32>ctz(m);
  }
  return limit;
}

/**
 * The end of a JSON-style string body from p: the scalar loop
 * `while (p < e && b[p] != '"') p += b[p] == '\\' ? 2 : 1`, 16 bytes at a time (a backslash skips
 * the byte after it). Returns the same p: the closing quote, or >= e.
 */
@inline function stringEnd(b: usize, p: i32, e: i32): i32 {
  const quote = i8x16.splat(34);
  const slash = i8x16.splat(92);
  while (p < e) {
    if (p + 16 <= e) {
      const v = v128.load(b + <usize>p);
      const m = i8x16.bitmask(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)));
      if (m == 0) {
        p += 16;
        continue;
      }
      p += ctz(m);
    } else {
      const c = at(b, p);
      if (c != 34 && c != 92) {
        p++;
        continue;
      }
    }
    if (at(b, p) == 34) return p;
    p += 2;
  }
  return p;
}

/** Is b[s, s+len) one of the level keys: lvl level severity loglevel log.level? */
@inline function levelKey(b: usize, s: i32, len: i32): bool {
  if (len == 3) return at(b, s) == 108 && at(b, s + 1) == 118 && at(b, s + 2) == 108; // lvl
  if (len == 5) return tailIs(b, s, 'level', 0xff);
  if (len == 8) return tailIs(b, s, 'severity', 0xff) || tailIs(b, s, 'loglevel', 0xff);
  if (len == 9) return tailIs(b, s, 'log.level', 0xff);
  return false;
}

@inline function json(b: usize, s: i32, e: i32): i32 {
  let last = e - 1;
  while (last > s && (at(b, last) == 32 || at(b, last) == 9)) last--;
  let p = s + 1;
  let budget = 64;
  while (p < e && budget-- > 0) {
    p = findByte(b, p, e, 34);
    if (p >= e) break;
    const ks = ++p;
    p = stringEnd(b, p, e);
    if (p >= e) break;
    const ke = p++;
    while (p < e && (at(b, p) == 32 || at(b, p) == 9)) p++;
    if (p >= e || at(b, p) != 58) continue;
    p++;
    while (p < e && (at(b, p) == 32 || at(b, p) == 9)) p++;
    if (p >= e) break;
    const isLevel = levelKey(b, ks, ke - ks);
    const v = at(b, p);
    if (v == 34) {
      const vs = ++p;
      p = stringEnd(b, p, e);
      const ve = min(p, e);
      p++;
      if (isLevel) {
        let w = vs;
        while (w < ve && alpha(at(b, w))) w++;
        const lv = w == ve ? levelWord(b, vs, ve - vs, true) : -1;
        if (lv >= 0) lvl = lv;
        break;
      }
    } else if (isLevel && (digit(v) || v == 45)) {
      const ns = p;
      while (p < e && (digit(at(b, p)) || at(b, p) == 46 || at(b, p) == 45 || at(b, p) == 43 || at(b, p) == 101 || at(b, p) == 69)) p++;
      const n = num(b, ns, min(p - ns, 3));
      lvl = n >= 60 ? FATAL : n >= 50 ? ERROR : n >= 40 ? WARN : n >= 30 ? INFO : n >= 20 ? DEBUG : TRACE;
      break;
    }
  }
  return at(b, last) == 125 ? F_JSON : F_NONE;
}

function logfmt(b: usize, s: i32, e: i32): i32 {
  let p = s;
  while (p < e && at(b, p) != 61 && at(b, p) != 32) p++;
  if (p >= e || at(b, p) != 61) return access(b, s, e);
  p = s;
  let pairs = 0;
  while (p < e && pairs++ < 32) {
    while (p < e && at(b, p) == 32) p++;
    const ks = p;
    while (p < e && at(b, p) != 61 && at(b, p) != 32) p++;
    const ke = p;
    if (p >= e || at(b, p) != 61) continue;
    p++;
    let vs = p;
    let ve: i32;
    if (p < e && at(b, p) == 34) {
      vs = ++p;
      p = stringEnd(b, p, e);
      ve = min(p, e);
      p++;
    } else {
      while (p < e && at(b, p) != 32) p++;
      ve = p;
    }
    if (levelKey(b, ks, ke - ks)) {
      const lv = levelWord(b, vs, ve - vs, true);
      if (lv >= 0) lvl = lv;
    }
  }
  return F_LOGFMT;
}

/** Format of the line b[s, e) (CR already stripped, not blank); sets `lvl`. The dispatch of line(). */
@inline function classify(b: usize, s: i32, e: i32): i32 {
  lvl = UNKNOWN;
  const c = at(b, s);
  if (digit(c)) return e - s >= 19 && at(b, s + 4) == 45 && at(b, s + 7) == 45 ? iso(b, s, e, false) : access(b, s, e);
  if (c == 123) return json(b, s, e);
  if (c == 60) return syslogPri(b, s, e);
  if (c == 91 && e - s > 20 && at(b, s + 5) == 45 && at(b, s + 8) == 45 && digit(at(b, s + 1))) return iso(b, s + 1, e, true);
  if (c >= 65 && c <= 90 && e - s >= 16 && at(b, s + 3) == 32 && monthOf(c, at(b, s + 1), at(b, s + 2)) != 0) return syslog3164(b, s, s, e);
  if (c >= 97 && c <= 122) return logfmt(b, s, e);
  return access(b, s, e);
}

/** The first index >= p of `byte` in [p, e), or e (16 bytes per step). */
function findByte(b: usize, p: i32, e: i32, byte: i32): i32 {
  const v = i8x16.splat(<i8>byte);
  for (; p + 16 <= e; p += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(b + <usize>p), v));
    if (m != 0) return p + ctz(m);
  }
  for (; p < e; p++) if (at(b, p) == <u32>byte) return p;
  return e;
}

// Line ends are gathered first, a batch at a time, then the lines classified from that list: the
// gathering has no data-dependent branch for the common case (at most four lines in 64 bytes), so the
// only unpredictable branches left per line are the ones that tell formats and levels apart.
const BATCH = 1024;
/** Offsets of the batch's line ends; 64 spare entries for a block with more than four. */
const ENDS: usize = memory.data(4 * (BATCH + 68), 16);

export function logLevels(b: usize, s0: i32, n: i32, out: usize): void {
  memory.fill(out, 0, 72);
  const nl = i8x16.splat(10);
  let s = s0;
  let lines = 0;
  let base = s0;
  while (base < n) {
    let k = 0;
    while (k < BATCH && base + 64 <= n) {
      const p = b + <usize>base;
      let m = <u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p), nl)) |
        (<u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 16), nl)) << 16) |
        (<u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 32), nl)) << 32) |
        (<u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 48), nl)) << 48);
      const c = <i32>popcnt(m);
      // four stores whatever the count (past the count they are overwritten by the next block)
      const q = ENDS + (<usize>k << 2);
      store<i32>(q, base + <i32>ctz(m));
      m &= m - 1;
      store<i32>(q, base + <i32>ctz(m), 4);
      m &= m - 1;
      store<i32>(q, base + <i32>ctz(m), 8);
      m &= m - 1;
      store<i32>(q, base + <i32>ctz(m), 12);
      m &= m - 1;
      for (let j = 4; m != 0; j++) {
        store<i32>(q + (<usize>j << 2), base + <i32>ctz(m));
        m &= m - 1;
      }
      k += c;
      base += 64;
    }
    if (k < BATCH && base < n) {
      // the last, partial block
      for (; base < n; base++) {
        if (at(b, base) == 10) {
          store<i32>(ENDS + (<usize>k << 2), base);
          k++;
        }
      }
    }
    lines += k;
    for (let j = 0; j < k; j++) {
      const end = load<i32>(ENDS + (<usize>j << 2));
      let e = end;
      if (e > s && at(b, e - 1) == 13) e--;
      if (e <= s) {
        store<i32>(out + 24, load<i32>(out + 24) + 1); // unknown
        store<i32>(out + 56, load<i32>(out + 56) + 1); // blank
      } else {
        const f = classify(b, s, e);
        const lo = out + (<usize>lvl << 2);
        store<i32>(lo, load<i32>(lo) + 1);
        const fo = out + 28 + (<usize>f << 2);
        store<i32>(fo, load<i32>(fo) + 1);
      }
      s = end + 1;
    }
  }
  store<i32>(out + 60, load<i32>(out + 52)); // malformed: the lines of format none
  store<i32>(out + 64, lines);
  store<i32>(out + 68, s);
}
