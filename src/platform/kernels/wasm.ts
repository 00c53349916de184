// Loads build/kernels/kernels.wasm (compiled from ./assembly by scripts/build-steps/10-kernels.mjs)
// and wraps an instance as KernelFunctions. Each call copies its inputs into the instance's linear
// memory above the static data, calls the kernel and reads the result back; the copy is part of
// every measured figure.
import { readFileSync } from 'node:fs';
import type { F32Stats, KernelFunctions, LineScanner } from './types.js';
import { WA } from './wasm-api.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';

/** Resolves to <repo>/build/kernels/kernels.wasm from src/platform/kernels (tsx) and dist/platform/kernels. */
export const DEFAULT_WASM_URL = new URL('../../../build/kernels/kernels.wasm', import.meta.url);

interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  sumF32(p: number, n: number): number;
  dotF32(pa: number, pb: number, n: number): number;
  statsF32(p: number, n: number, out: number): void;
  percentileF32(p: number, n: number, q: number): number;
  countByte(p: number, n: number, b: number): number;
  byteOffsets(p: number, n: number, b: number, out: number, max: number): number;
  indexOfBytes(ph: number, n: number, pn: number, m: number, from: number): number;
  popcount(p: number, words: number): number;
  jaccard(pa: number, pb: number, words: number): number;
  maskedHash(p: number, n: number, seed: number): number;
  logLevels(b: number, start: number, length: number, out: number): void;
}

const REQUIRED: ReadonlyArray<keyof Exports> = ['memory', 'heapBase', 'sumF32', 'dotF32', 'statsF32', 'percentileF32', 'countByte', 'byteOffsets', 'indexOfBytes', 'popcount', 'jaccard', 'maskedHash', 'logLevels'];
const PAGE = 65536;

export type WasmLoad = { ok: true; module: WasmModule; url: string } | { ok: false; reason: string; url: string };

/** Reads and compiles the kernels module; never throws, says why on failure. */
export function loadKernelModule(url: URL = DEFAULT_WASM_URL): WasmLoad {
  let bytes: Buffer;
  try {
    bytes = readFileSync(url);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, url: url.href, reason: code === 'ENOENT' ? `${url.pathname} not found (run npm run build)` : `cannot read ${url.pathname}: ${(err as Error).message}` };
  }
  let module: WasmModule;
  try {
    module = new WA.Module(bytes);
  } catch (err) {
    // e.g. a runtime without WebAssembly SIMD
    return { ok: false, url: url.href, reason: `cannot compile ${url.pathname}: ${(err as Error).message}` };
  }
  const names = new Set(WA.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED.filter((n) => !names.has(n));
  if (missing.length > 0) return { ok: false, url: url.href, reason: `${url.pathname} lacks exports: ${missing.join(', ')} (stale build? run npm run build)` };
  return { ok: true, module, url: url.href };
}

function instantiate(module: WasmModule): Exports {
  return new WA.Instance(module, { env: { abort: () => { throw new Error('wasm kernel abort'); } } }).exports as unknown as Exports;
}

const align16 = (n: number): number => (n + 15) & ~15;

/** KernelFunctions backed by one instance of the module (its own memory, grown on demand). */
export function createWasmKernels(module: WasmModule): KernelFunctions {
  const ex = instantiate(module);
  const memory = ex.memory;
  const base = ex.heapBase();
  let u8 = new Uint8Array(memory.buffer);
  let u32 = new Uint32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  let f32 = new Float32Array(memory.buffer);
  let f64 = new Float64Array(memory.buffer);

  /** Makes room for `bytes` of scratch above `base`, refreshing the views when the memory grew. */
  function reserve(bytes: number): void {
    const need = base + bytes;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    if (u8.buffer !== memory.buffer) {
      u8 = new Uint8Array(memory.buffer);
      u32 = new Uint32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
      f32 = new Float32Array(memory.buffer);
      f64 = new Float64Array(memory.buffer);
    }
  }

  return {
    impl: 'wasm',
    sum(a: Float32Array): number {
      reserve(a.length * 4);
      f32.set(a, base >> 2);
      return ex.sumF32(base, a.length);
    },
    dot(a: Float32Array, b: Float32Array): number {
      const pb = base + align16(a.length * 4);
      reserve(pb - base + b.length * 4);
      f32.set(a, base >> 2);
      f32.set(b, pb >> 2);
      return ex.dotF32(base, pb, a.length);
    },
    stats(a: Float32Array): F32Stats {
      if (a.length === 0) return { mean: Number.NaN, variance: Number.NaN, min: Number.NaN, max: Number.NaN };
      const p = base + 32;
      reserve(32 + a.length * 4);
      f32.set(a, p >> 2);
      ex.statsF32(p, a.length, base);
      const o = base >> 3;
      return { mean: f64[o]!, variance: f64[o + 1]!, min: f64[o + 2]!, max: f64[o + 3]! };
    },
    percentile(a: Float32Array, q: number, window: number): number {
      const n = Math.min(window, a.length);
      if (n === 0) return Number.NaN;
      reserve(n * 4);
      f32.set(n === a.length ? a : a.subarray(a.length - n), base >> 2);
      return ex.percentileF32(base, n, q);
    },
    countByte(buf: Uint8Array, byte: number): number {
      reserve(buf.length);
      u8.set(buf, base);
      return ex.countByte(base, buf.length, byte);
    },
    indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
      const pn = base + align16(buf.length);
      reserve(pn - base + needle.length);
      u8.set(buf, base);
      u8.set(needle, pn);
      return ex.indexOfBytes(base, buf.length, pn, needle.length, from);
    },
    byteOffsets(buf: Uint8Array, byte: number, out: Int32Array): number {
      const po = base + align16(buf.length);
      reserve(po - base + out.length * 4);
      u8.set(buf, base);
      const c = ex.byteOffsets(base, buf.length, byte, po, out.length);
      out.set(i32.subarray(po >> 2, (po >> 2) + c));
      return c;
    },
    popcount(bits: Uint32Array): number {
      reserve(bits.length * 4);
      u32.set(bits, base >> 2);
      return ex.popcount(base, bits.length);
    },
    jaccard(a: Uint32Array, b: Uint32Array): number {
      const pb = base + align16(a.length * 4);
      reserve(pb - base + b.length * 4);
      u32.set(a, base >> 2);
      u32.set(b, pb >> 2);
      return ex.jaccard(base, pb, a.length);
    },
    maskedHash(buf: Uint8Array, start: number, end: number, seed: number): number {
      const n = end - start;
      reserve(n);
      u8.set(buf.subarray(start, end), base);
      return ex.maskedHash(base, n, seed);
    },
  };
}

/**
 * A line scanner whose buffer is a view on its own instance's memory: bytes read into it are scanned
 * in place by the SIMD `byteOffsets` kernel. The memory is sized once and never grows, so the views
 * stay valid for the scanner's life.
 */
export function createWasmLineScanner(module: WasmModule, capacity: number): LineScanner {
  const ex = instantiate(module);
  const memory = ex.memory;
  const base = ex.heapBase();
  const cap = align16(capacity);
  const endsPtr = base + cap;
  const countsPtr = endsPtr + cap * 4;
  const need = countsPtr + 128;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
  const buffer = Buffer.from(memory.buffer, base, capacity);
  const ends = new Int32Array(memory.buffer, endsPtr, capacity);
  const levelCounts = new Int32Array(memory.buffer, countsPtr, 18);
  return {
    impl: 'wasm',
    buffer,
    ends,
    levelCounts,
    levels(start: number, length: number): void {
      ex.logLevels(base, start, length, countsPtr);
    },
    scan(length: number): number {
      return ex.byteOffsets(base, length, 10, endsPtr, capacity);
    },
    hash(start: number, end: number, seed: number): number {
      return ex.maskedHash(base + start, end - start, seed);
    },
  };
}
