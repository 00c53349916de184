// The kernels facade: validates inputs once, picks WASM or the JS twin per call from a run-time
// switch (the engine passes `() => flags.enabled('kernels.wasm')`), counts and samples timings in a
// KernelMonitor, and falls back to JS (logging the reason once) when the module is missing, fails
// to load, or a WASM call throws.
import type { MetricsRegistry } from '../metrics/types.js';
import { KernelError } from './errors.js';
import { createJsLineScanner, jsKernels } from './js.js';
import { KernelMonitor } from './monitor.js';
import type { ImplCounters, KernelMonitorSnapshot } from './monitor.js';
import { KERNEL_NAMES } from './types.js';
import type { F32Stats, KernelFunctions, KernelImpl, KernelLogger, KernelName, LineScanner, LineScannerFactory } from './types.js';
import { createWasmKernels, createWasmLineScanner, loadKernelModule } from './wasm.js';
import type { WasmLoad } from './wasm.js';

/** Largest input of any kernel call, in bytes (both implementations). */
export const MAX_KERNEL_INPUT_BYTES = 256 * 1024 * 1024;
/** Largest line-scanner buffer. */
export const MAX_SCANNER_BYTES = 64 * 1024 * 1024;

export interface KernelsOptions {
  /** Read before every call: true → WASM (when loaded), false → JS. Default: always WASM. */
  useWasm?: () => boolean;
  /** Where the compiled module is; default build/kernels/kernels.wasm at the repo root. */
  wasmUrl?: URL;
  /** A load result obtained elsewhere (shares one compiled module between facades). */
  load?: WasmLoad;
  log?: KernelLogger;
  /** Time one call in N (default 16; 1 times every call). */
  sampleEvery?: number;
  /**
   * Every Nth timed call also runs the implementation the switch did not pick, timed, so the monitor
   * knows the speed-up while only one side serves (default 16; 0 turns it off).
   */
  shadowEvery?: number;
  /** When given, exposes calls, errors and speed-ups as gauges read at scrape time. */
  metrics?: MetricsRegistry;
}

export interface KernelsStatus {
  wasm: 'loaded' | 'unavailable' | 'failed';
  /** Why WASM is not serving (missing file, compile error, a call that threw). */
  reason?: string;
  /** The implementation the next call will use. */
  active: KernelImpl;
}

/**
 * Accelerated kernels with a JS fallback.
 *
 *   const k = createKernels({ useWasm: () => flags.enabled('kernels.wasm'), log });
 *   k.dot(a, b); k.percentile(latencies, 99); k.monitor.snapshot().kernels.dot.speedup
 */
export interface Kernels extends LineScannerFactory {
  sum(a: Float32Array): number;
  dot(a: Float32Array, b: Float32Array): number;
  stats(a: Float32Array): F32Stats;
  /** q in 0..100, over the last `window` values (default: all). NaN for an empty input. */
  percentile(a: Float32Array, q: number, window?: number): number;
  countByte(buf: Uint8Array, byte: number): number;
  indexOf(buf: Uint8Array, needle: Uint8Array | string, from?: number): number;
  byteOffsets(buf: Uint8Array, byte: number, out: Int32Array): number;
  popcount(bits: Uint32Array): number;
  jaccard(a: Uint32Array, b: Uint32Array): number;
  /** 53-bit hash of buf[start, end) with words that carry digits or long hex masked (masked.ts). */
  maskedHash(buf: Uint8Array, start?: number, end?: number, seed?: number): number;
  readonly monitor: KernelMonitor;
  /** The implementation the next call will use. */
  active(): KernelImpl;
  status(): KernelsStatus;
  /**
   * Runs every kernel `rounds` times on `n` random elements with each implementation, recording the
   * timings in the monitor; returns the monitor's snapshot. A cheap way to fill in the speed-up.
   */
  calibrate(opts?: { n?: number; rounds?: number }): KernelMonitorSnapshot;
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new KernelError('KERNEL_INPUT_INVALID', message, details);
}

function checkSize(kernel: KernelName, bytes: number): void {
  if (bytes > MAX_KERNEL_INPUT_BYTES) throw new KernelError('KERNEL_INPUT_TOO_LARGE', `${kernel}: input of ${bytes} bytes exceeds ${MAX_KERNEL_INPUT_BYTES}`, { kernel, bytes, limit: MAX_KERNEL_INPUT_BYTES });
}

function checkF32(kernel: KernelName, a: unknown, arg = 'a'): asserts a is Float32Array {
  if (!(a instanceof Float32Array)) invalid(`${kernel}: ${arg} must be a Float32Array`, { kernel, arg });
  checkSize(kernel, a.byteLength);
}

function checkU32(kernel: KernelName, a: unknown, arg: string): asserts a is Uint32Array {
  if (!(a instanceof Uint32Array)) invalid(`${kernel}: ${arg} must be a Uint32Array`, { kernel, arg });
  checkSize(kernel, a.byteLength);
}

function checkBytes(kernel: KernelName, a: unknown, arg: string): asserts a is Uint8Array {
  if (!(a instanceof Uint8Array)) invalid(`${kernel}: ${arg} must be a Uint8Array or Buffer`, { kernel, arg });
  checkSize(kernel, a.byteLength);
}

function checkByte(kernel: KernelName, byte: number): void {
  if (!Number.isInteger(byte) || byte < 0 || byte > 255) invalid(`${kernel}: byte must be an integer 0..255`, { kernel, byte });
}

/** Builds the facade. Never throws for a missing or broken module: the JS twins serve. */
export function createKernels(opts: KernelsOptions = {}): Kernels {
  const useWasm = opts.useWasm ?? ((): boolean => true);
  const sampleEvery = Math.max(1, Math.floor(opts.sampleEvery ?? 16));
  const shadowEvery = Math.max(0, Math.floor(opts.shadowEvery ?? 16));
  const log = opts.log;
  const monitor = new KernelMonitor();
  // The module is read, compiled and instantiated at the first kernel call (or status / active),
  // not here: an engine that never analyses a log nor scrapes its metrics carries no WASM code
  // (~1.4 MB of RSS). A failure is logged once, then, and the JS twins serve.
  let load: WasmLoad | undefined;
  let wasm: KernelFunctions | null = null;
  let state: KernelsStatus['wasm'] = 'unavailable';
  let reason: string | undefined;
  function ensureLoaded(): void {
    load = opts.load ?? loadKernelModule(opts.wasmUrl);
    if (load.ok) {
      try {
        wasm = createWasmKernels(load.module);
        state = 'loaded';
      } catch (err) {
        state = 'failed';
        reason = `cannot instantiate ${load.url}: ${(err as Error).message}`;
      }
    } else {
      reason = load.reason;
    }
    if (reason !== undefined) log?.warn({ reason }, 'kernels: WASM unavailable, the JS fallback serves');
  }

  /** A WASM call threw: stop using WASM for good, say why once. */
  function disable(name: KernelName, err: unknown): void {
    if (wasm === null) return;
    wasm = null;
    state = 'failed';
    reason = `${name} threw: ${(err as Error)?.message ?? String(err)}`;
    log?.warn({ reason, kernel: name }, 'kernels: WASM call failed, the JS fallback serves from now on');
  }

  let countdown = sampleEvery;
  let timed = 0;
  /** Each kernel's counters, looked up once (the hot path must not search a Map). */
  const pairs = Object.fromEntries(KERNEL_NAMES.map((n) => [n, { wasm: monitor.of(n, 'wasm'), js: monitor.of(n, 'js') }])) as Record<KernelName, { wasm: ImplCounters; js: ImplCounters }>;

  /**
   * The implementation to call for an untimed call (counting it), or null when this call is the one
   * in `sampleEvery` to time: then the caller goes through `run`. Keeps the common path free of
   * closures and clock reads.
   */
  function fast(pair: { wasm: ImplCounters; js: ImplCounters }): KernelFunctions | null {
    if (load === undefined) ensureLoaded();
    if (--countdown === 0) {
      countdown = sampleEvery;
      return null;
    }
    if (wasm !== null && useWasm()) {
      pair.wasm.calls++;
      return wasm;
    }
    pair.js.calls++;
    return jsKernels;
  }

  /** A call on the fast path threw: JS errors are the caller's; a WASM error switches WASM off. */
  function recover<R>(name: KernelName, k: KernelFunctions, err: unknown, retry: () => R): R {
    if (k === jsKernels) throw err;
    monitor.of(name, 'wasm').errors++;
    disable(name, err);
    return retry();
  }

  /** Runs `name` on the chosen implementation; `elements` is the work size for the timings. */
  function run<R>(name: KernelName, elements: number, call: (k: KernelFunctions) => R): R {
    if (load === undefined) ensureLoaded();
    const w = wasm !== null && useWasm() ? wasm : null;
    const impl: KernelImpl = w !== null ? 'wasm' : 'js';
    const counters = monitor.of(name, impl);
    counters.calls++;
    let result: R;
    const t0 = performance.now();
    try {
      result = call(w ?? jsKernels);
    } catch (err) {
      if (w === null) throw err;
      counters.errors++;
      disable(name, err);
      return call(jsKernels);
    }
    monitor.time(name, impl, performance.now() - t0, elements);
    if (shadowEvery > 0 && ++timed % shadowEvery === 0 && wasm !== null) {
      // measure the side that did not serve; its result is discarded
      const other = w === null ? wasm : jsKernels;
      const otherImpl: KernelImpl = w === null ? 'wasm' : 'js';
      const t1 = performance.now();
      try {
        call(other);
        monitor.time(name, otherImpl, performance.now() - t1, elements);
      } catch (err) {
        if (otherImpl === 'wasm') {
          monitor.of(name, 'wasm').errors++;
          disable(name, err);
        }
      }
    }
    return result;
  }

  const kernels: Kernels = {
    monitor,
    sum(a) {
      checkF32('sum', a);
      const k = fast(pairs.sum);
      if (k !== null) {
        try {
          return k.sum(a);
        } catch (err) {
          return recover('sum', k, err, () => jsKernels.sum(a));
        }
      }
      return run('sum', a.length, (k) => k.sum(a));
    },
    dot(a, b) {
      checkF32('dot', a);
      checkF32('dot', b, 'b');
      if (a.length !== b.length) invalid('dot: vectors differ in length', { kernel: 'dot', a: a.length, b: b.length });
      const k = fast(pairs.dot);
      if (k !== null) {
        try {
          return k.dot(a, b);
        } catch (err) {
          return recover('dot', k, err, () => jsKernels.dot(a, b));
        }
      }
      return run('dot', a.length, (k) => k.dot(a, b));
    },
    stats(a) {
      checkF32('stats', a);
      const k = fast(pairs.stats);
      if (k !== null) {
        try {
          return k.stats(a);
        } catch (err) {
          return recover('stats', k, err, () => jsKernels.stats(a));
        }
      }
      return run('stats', a.length, (k) => k.stats(a));
    },
    percentile(a, q, window = Math.max(1, a.length)) {
      checkF32('percentile', a);
      if (typeof q !== 'number' || !(q >= 0 && q <= 100)) invalid('percentile: q must be a number in 0..100', { kernel: 'percentile', q });
      if (!Number.isInteger(window) || window < 1) invalid('percentile: window must be a positive integer', { kernel: 'percentile', window });
      const k = fast(pairs.percentile);
      if (k !== null) {
        try {
          return k.percentile(a, q, window);
        } catch (err) {
          return recover('percentile', k, err, () => jsKernels.percentile(a, q, window));
        }
      }
      return run('percentile', Math.min(window, a.length), (k) => k.percentile(a, q, window));
    },
    countByte(buf, byte) {
      checkBytes('countByte', buf, 'buf');
      checkByte('countByte', byte);
      const k = fast(pairs.countByte);
      if (k !== null) {
        try {
          return k.countByte(buf, byte);
        } catch (err) {
          return recover('countByte', k, err, () => jsKernels.countByte(buf, byte));
        }
      }
      return run('countByte', buf.length, (k) => k.countByte(buf, byte));
    },
    indexOf(buf, needle, from = 0) {
      checkBytes('indexOf', buf, 'buf');
      const n = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
      checkBytes('indexOf', n, 'needle');
      if (!Number.isInteger(from)) invalid('indexOf: from must be an integer', { kernel: 'indexOf', from });
      const start = Math.max(0, from);
      const k = fast(pairs.indexOf);
      if (k !== null) {
        try {
          return k.indexOf(buf, n, start);
        } catch (err) {
          return recover('indexOf', k, err, () => jsKernels.indexOf(buf, n, start));
        }
      }
      return run('indexOf', buf.length - Math.min(start, buf.length), (k) => k.indexOf(buf, n, start));
    },
    byteOffsets(buf, byte, out) {
      checkBytes('byteOffsets', buf, 'buf');
      checkByte('byteOffsets', byte);
      if (!(out instanceof Int32Array)) invalid('byteOffsets: out must be an Int32Array', { kernel: 'byteOffsets' });
      checkSize('byteOffsets', buf.length + out.byteLength);
      const k = fast(pairs.byteOffsets);
      if (k !== null) {
        try {
          return k.byteOffsets(buf, byte, out);
        } catch (err) {
          return recover('byteOffsets', k, err, () => jsKernels.byteOffsets(buf, byte, out));
        }
      }
      return run('byteOffsets', buf.length, (k) => k.byteOffsets(buf, byte, out));
    },
    popcount(bits) {
      checkU32('popcount', bits, 'bits');
      const k = fast(pairs.popcount);
      if (k !== null) {
        try {
          return k.popcount(bits);
        } catch (err) {
          return recover('popcount', k, err, () => jsKernels.popcount(bits));
        }
      }
      return run('popcount', bits.length, (k) => k.popcount(bits));
    },
    jaccard(a, b) {
      checkU32('jaccard', a, 'a');
      checkU32('jaccard', b, 'b');
      if (a.length !== b.length) invalid('jaccard: bitsets differ in length', { kernel: 'jaccard', a: a.length, b: b.length });
      const k = fast(pairs.jaccard);
      if (k !== null) {
        try {
          return k.jaccard(a, b);
        } catch (err) {
          return recover('jaccard', k, err, () => jsKernels.jaccard(a, b));
        }
      }
      return run('jaccard', a.length, (k) => k.jaccard(a, b));
    },
    maskedHash(buf, start = 0, end = buf.length, seed = 0) {
      checkBytes('maskedHash', buf, 'buf');
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > buf.length || start > end) {
        invalid('maskedHash: need 0 <= start <= end <= buf.length', { kernel: 'maskedHash', start, end, length: buf.length });
      }
      if (!Number.isInteger(seed)) invalid('maskedHash: seed must be an integer', { kernel: 'maskedHash', seed });
      const k = fast(pairs.maskedHash);
      if (k !== null) {
        try {
          return k.maskedHash(buf, start, end, seed | 0);
        } catch (err) {
          return recover('maskedHash', k, err, () => jsKernels.maskedHash(buf, start, end, seed | 0));
        }
      }
      return run('maskedHash', end - start, (k) => k.maskedHash(buf, start, end, seed | 0));
    },
    active() {
      if (load === undefined) ensureLoaded();
      return wasm !== null && useWasm() ? 'wasm' : 'js';
    },
    status() {
      if (load === undefined) ensureLoaded();
      return reason === undefined ? { wasm: state, active: kernels.active() } : { wasm: state, reason, active: kernels.active() };
    },
    lineScanner(capacity) {
      if (!Number.isInteger(capacity) || capacity < 16 || capacity > MAX_SCANNER_BYTES) {
        invalid(`lineScanner: capacity must be an integer in 16..${MAX_SCANNER_BYTES}`, { kernel: 'byteOffsets', capacity });
      }
      let inner: LineScanner | null = null;
      if (load === undefined) ensureLoaded();
      if (wasm !== null && useWasm() && load?.ok) {
        try {
          inner = createWasmLineScanner(load.module, capacity);
        } catch (err) {
          log?.warn({ reason: (err as Error).message }, 'kernels: WASM line scanner unavailable, using JS');
        }
      }
      const scanner = inner ?? createJsLineScanner(capacity);
      const counters = monitor.of('byteOffsets', scanner.impl);
      const hashCounters = monitor.of('maskedHash', scanner.impl);
      // a scan covers a whole chunk, so timing every one costs nothing noticeable
      return {
        impl: scanner.impl,
        buffer: scanner.buffer,
        ends: scanner.ends,
        ...(scanner.levels ? { levels: scanner.levels, levelCounts: scanner.levelCounts } : {}),
        scan(length: number): number {
          counters.calls++;
          const t0 = performance.now();
          const n = scanner.scan(length);
          monitor.time('byteOffsets', scanner.impl, performance.now() - t0, length);
          return n;
        },
        // called once per log line: counted (a field bump), not timed
        hash: (start: number, end: number, seed: number): number => {
          hashCounters.calls++;
          return scanner.hash(start, end, seed);
        },
      };
    },
    calibrate({ n = 1000, rounds = 200 } = {}) {
      if (load === undefined) ensureLoaded();
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      const bytes = new Uint8Array(n * 4);
      const bits = new Uint32Array(n);
      const bits2 = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        a[i] = Math.random() * 2 - 1;
        b[i] = Math.random() * 2 - 1;
        bits[i] = (Math.random() * 2 ** 32) >>> 0;
        bits2[i] = (Math.random() * 2 ** 32) >>> 0;
      }
      // text-like bytes: a line end every 97, the needle near the end
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 97 === 96 ? 10 : 97 + ((i * 7) % 26);
      const needle = Buffer.from('ERROR');
      needle.copy(bytes, Math.max(0, bytes.length - 40));
      const out = new Int32Array(bytes.length);
      const impls: KernelFunctions[] = wasm !== null ? [wasm, jsKernels] : [jsKernels];
      const work: Array<[KernelName, number, (k: KernelFunctions) => unknown]> = [
        ['sum', n, (k) => k.sum(a)],
        ['dot', n, (k) => k.dot(a, b)],
        ['stats', n, (k) => k.stats(a)],
        ['percentile', n, (k) => k.percentile(a, 99, n)],
        ['countByte', bytes.length, (k) => k.countByte(bytes, 10)],
        ['indexOf', bytes.length, (k) => k.indexOf(bytes, needle, 0)],
        ['byteOffsets', bytes.length, (k) => k.byteOffsets(bytes, 10, out)],
        ['popcount', n, (k) => k.popcount(bits)],
        ['jaccard', n, (k) => k.jaccard(bits, bits2)],
        ['maskedHash', bytes.length, (k) => k.maskedHash(bytes, 0, bytes.length, 0)],
      ];
      // batches of calls, alternating sides; each batch is one timing in the monitor's median
      const batch = Math.max(1, Math.floor(rounds / 16));
      for (const [name, elements, call] of work) {
        for (const k of impls) for (let r = 0; r < 200; r++) call(k); // warm-up: both optimised
        for (let pass = 0; pass < 16; pass++) {
          for (const k of pass % 2 === 0 ? impls : [...impls].reverse()) {
            const t0 = performance.now();
            for (let r = 0; r < batch; r++) call(k);
            monitor.time(name, k.impl, performance.now() - t0, batch * elements);
            monitor.of(name, k.impl).timedCalls += batch - 1;
          }
        }
      }
      return monitor.snapshot();
    },
  };

  if (opts.metrics) registerMetrics(opts.metrics, kernels);
  return kernels;
}

function registerMetrics(metrics: MetricsRegistry, kernels: Kernels): void {
  const perImpl = (field: 'calls' | 'errors') => () => {
    const snap = kernels.monitor.snapshot();
    const out: Array<{ labels: Record<string, string>; value: number }> = [];
    for (const name of KERNEL_NAMES) for (const impl of ['wasm', 'js'] as const) out.push({ labels: { kernel: name, impl }, value: snap.kernels[name][impl][field] });
    return out;
  };
  metrics.gaugeCallback({ name: 'code_kernel_calls', help: 'Kernel calls since start, per kernel and implementation', labelNames: ['kernel', 'impl'], collect: perImpl('calls') });
  metrics.gaugeCallback({ name: 'code_kernel_errors', help: 'Kernel calls that threw, per kernel and implementation', labelNames: ['kernel', 'impl'], collect: perImpl('errors') });
  metrics.gaugeCallback({
    name: 'code_kernel_speedup',
    help: 'Measured WASM speed-up over the JS twin (js ns per element / wasm ns per element), per kernel',
    labelNames: ['kernel'],
    collect: () => {
      const snap = kernels.monitor.snapshot();
      return KERNEL_NAMES.filter((n) => snap.kernels[n].speedup !== null).map((n) => ({ labels: { kernel: n }, value: snap.kernels[n].speedup! }));
    },
  });
  metrics.gaugeCallback({ name: 'code_kernel_wasm_active', help: '1 when the next kernel call uses WASM, 0 when the JS twin serves', collect: () => (kernels.active() === 'wasm' ? 1 : 0) });
}
