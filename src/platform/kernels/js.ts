// The JS twins of the WASM kernels: plain, obviously-correct loops. They serve when the flag
// `kernels.wasm` is off or the module did not load, and they are the reference in the property tests.
// Float reductions accumulate in f64 (the WASM kernels accumulate in f32 lanes, as numpy float32
// does), so the two agree within the f32 rounding bound, not bit for bit.
import { maskedHash } from './masked.js';
import type { F32Stats, KernelFunctions, LineScanner } from './types.js';

function sum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function stats(a: Float32Array): F32Stats {
  const n = a.length;
  if (n === 0) return { mean: Number.NaN, variance: Number.NaN, min: Number.NaN, max: Number.NaN };
  let s = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    s += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const mean = s / n;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const e = a[i]! - mean;
    d += e * e;
  }
  return { mean, variance: d / n, min: lo, max: hi };
}

/** Hoare quickselect, median-of-three pivot; the same algorithm as the WASM kernel. */
function percentile(a: Float32Array, q: number, window: number): number {
  const n = Math.min(window, a.length);
  if (n === 0) return Number.NaN;
  const x = a.slice(a.length - n);
  const pos = (q / 100) * (n - 1);
  const k = Math.floor(pos);
  let left = 0;
  let right = n - 1;
  while (right > left) {
    const mid = left + ((right - left) >> 1);
    let p0 = x[left]!;
    let p1 = x[mid]!;
    let p2 = x[right]!;
    if (p0 > p1) [p0, p1] = [p1, p0];
    if (p1 > p2) {
      [p1, p2] = [p2, p1];
      if (p0 > p1) [p0, p1] = [p1, p0];
    }
    const pivot = p1;
    let i = left - 1;
    let j = right + 1;
    for (;;) {
      do i++;
      while (x[i]! < pivot);
      do j--;
      while (x[j]! > pivot);
      if (i >= j) break;
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
    if (k <= j) right = j;
    else left = j + 1;
  }
  const lo = x[k]!;
  const frac = pos - k;
  if (frac === 0 || k + 1 >= n) return lo;
  let hi = Number.POSITIVE_INFINITY;
  for (let i = k + 1; i < n; i++) if (x[i]! < hi) hi = x[i]!;
  return lo + frac * (hi - lo);
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

function countByte(buf: Uint8Array, byte: number): number {
  let c = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === byte) c++;
  return c;
}

/** Node's own Buffer#indexOf (memchr + Boyer-Moore-Horspool in C++) is the best plain JS has. */
function indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
  if (needle.length === 0) return from <= buf.length ? from : -1;
  return asBuffer(buf).indexOf(needle, from);
}

function byteOffsets(buf: Uint8Array, byte: number, out: Int32Array): number {
  const b = asBuffer(buf);
  let c = 0;
  let i = b.indexOf(byte, 0);
  while (i !== -1 && c < out.length) {
    out[c++] = i;
    i = b.indexOf(byte, i + 1);
  }
  return c;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function popcount(bits: Uint32Array): number {
  let c = 0;
  for (let i = 0; i < bits.length; i++) c += popcount32(bits[i]!);
  return c;
}

function jaccard(a: Uint32Array, b: Uint32Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += popcount32(a[i]! & b[i]!);
    union += popcount32(a[i]! | b[i]!);
  }
  return union === 0 ? 1 : inter / union;
}

export const jsKernels: KernelFunctions = { impl: 'js', sum, dot, stats, percentile, countByte, indexOf, byteOffsets, popcount, jaccard, maskedHash };

/** A line scanner on a plain Buffer, splitting with Buffer#indexOf. */
export function createJsLineScanner(capacity: number): LineScanner {
  const buffer = Buffer.allocUnsafe(capacity);
  const ends = new Int32Array(capacity);
  return {
    impl: 'js',
    buffer,
    ends,
    scan(length: number): number {
      const view = buffer.subarray(0, length);
      let c = 0;
      let i = view.indexOf(10, 0);
      while (i !== -1) {
        ends[c++] = i;
        i = view.indexOf(10, i + 1);
      }
      return c;
    },
    hash(start: number, end: number, seed: number): number {
      return maskedHash(buffer, start, end, seed);
    },
  };
}
