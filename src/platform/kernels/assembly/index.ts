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
    if ((acc & 4) != 0 || ((acc & 1) == 0 && i - ws >= 8)) h = (h ^ 35) * 16777619;
    else for (let j = ws; j < i; j++) h = (h ^ <u32>load<u8>(p + <usize>j)) * 16777619;
    g = (g ^ h) * 0x5bd1e995;
    g ^= g >> 15;
  }
  return <f64>h * 2097152.0 + <f64>((g >> 11) & 0x1fffff);
}
