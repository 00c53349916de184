import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  createKernels,
  createJsLineScanner,
  createWasmKernels,
  createWasmLineScanner,
  jsKernels,
  KERNEL_NAMES,
  loadKernelModule,
  maskText,
} from '../../../src/platform/kernels/index.js';
import type { KernelFunctions, WasmModule } from '../../../src/platform/kernels/index.js';
import { hasCode } from '../../../src/platform/errors.js';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { ensureKernelsBuilt } from './build.js';

const U = 2 ** -24; // f32 unit roundoff

let module: WasmModule;
let wasm: KernelFunctions;

before(async () => {
  await ensureKernelsBuilt();
  const load = loadKernelModule();
  assert.ok(load.ok, load.ok ? '' : load.reason);
  module = load.module;
  wasm = createWasmKernels(module);
});

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 });
const f32Array = (max = 2100): fc.Arbitrary<Float32Array> => fc.array(f32, { maxLength: max }).map((xs) => Float32Array.from(xs));
const absSum = (a: Float32Array, b?: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(b ? a[i]! * b[i]! : a[i]!);
  return s;
};
const RUNS = { numRuns: 300 };

describe('WASM kernels agree with their JS twins (fast-check)', () => {
  test('sum: within the f32 summation bound (n + 8)·u·Σ|x|', () => {
    fc.assert(
      fc.property(f32Array(), (a) => {
        const w = wasm.sum(a);
        const j = jsKernels.sum(a);
        assert.ok(Math.abs(w - j) <= (a.length + 8) * U * absSum(a), `n=${a.length} wasm=${w} js=${j}`);
      }),
      RUNS,
    );
  });

  test('dot: within (n + 9)·u·Σ|a·b| plus the f32 underflow of each product', () => {
    const pair = fc.integer({ min: 0, max: 2100 }).chain((n) => fc.tuple(fc.array(f32, { minLength: n, maxLength: n }), fc.array(f32, { minLength: n, maxLength: n })));
    fc.assert(
      fc.property(pair, ([xs, ys]) => {
        const a = Float32Array.from(xs);
        const b = Float32Array.from(ys);
        const w = wasm.dot(a, b);
        const j = jsKernels.dot(a, b);
        assert.ok(Math.abs(w - j) <= (a.length + 9) * U * absSum(a, b) + a.length * 2 ** -149, `n=${a.length} wasm=${w} js=${j}`);
      }),
      RUNS,
    );
  });

  test('stats: min/max exact, mean and variance within their rounding bounds', () => {
    fc.assert(
      fc.property(f32Array(), (a) => {
        const w = wasm.stats(a);
        const j = jsKernels.stats(a);
        const n = a.length;
        if (n === 0) {
          for (const k of ['mean', 'variance', 'min', 'max'] as const) assert.ok(Number.isNaN(w[k]) && Number.isNaN(j[k]));
          return;
        }
        assert.equal(w.min, j.min);
        assert.equal(w.max, j.max);
        const maxAbs = Math.max(Math.abs(j.min), Math.abs(j.max));
        // the last term: the f32 division can round in the subnormal range, where the error is absolute
        const meanTol = ((n + 10) * U * absSum(a)) / n + 2 ** -149;
        assert.ok(Math.abs(w.mean - j.mean) <= meanTol, `mean wasm=${w.mean} js=${j.mean}`);
        // the WASM variance is taken around its own f32 mean (error δ adds δ²) and summed in f32
        const delta = (n + 10) * U * maxAbs;
        const varTol = 2 * (n + 10) * U * j.variance + 2 * delta * delta + 1e-30;
        assert.ok(Math.abs(w.variance - j.variance) <= varTol, `variance wasm=${w.variance} js=${j.variance} tol=${varTol}`);
      }),
      RUNS,
    );
  });

  test('percentile: exactly equal to each other and to a sort-based reference', () => {
    // few distinct values → many duplicates, the hard case for a partition
    const values = fc.oneof(f32Array(700), fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 700 }).map((xs) => Float32Array.from(xs)));
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: 1, max: 800 }), (a, q, window) => {
        const w = wasm.percentile(a, q, window);
        const j = jsKernels.percentile(a, q, window);
        const n = Math.min(window, a.length);
        if (n === 0) {
          assert.ok(Number.isNaN(w) && Number.isNaN(j));
          return;
        }
        const sorted = a.slice(a.length - n).sort();
        const pos = (q / 100) * (n - 1);
        const k = Math.floor(pos);
        const ref = pos === k || k + 1 >= n ? sorted[k]! : sorted[k]! + (pos - k) * (sorted[k + 1]! - sorted[k]!);
        assert.equal(w, ref, `wasm q=${q} n=${n}`);
        assert.equal(j, ref, `js q=${q} n=${n}`);
      }),
      RUNS,
    );
  });

  // bytes over a small alphabet so that needles and newlines actually occur
  const text = fc.array(fc.constantFrom(10, 97, 98, 99, 0, 255), { maxLength: 3000 }).map((xs) => Uint8Array.from(xs));

  test('countByte: equal', () => {
    fc.assert(
      fc.property(text, fc.constantFrom(10, 97, 0, 255, 7), (buf, b) => {
        assert.equal(wasm.countByte(buf, b), jsKernels.countByte(buf, b));
      }),
      RUNS,
    );
  });

  test('indexOf: equal for every start offset, needles of 1..40 bytes', () => {
    fc.assert(
      fc.property(text, fc.array(fc.constantFrom(97, 98, 99, 10), { minLength: 1, maxLength: 40 }), fc.nat(3100), (buf, needle, from) => {
        const n = Uint8Array.from(needle);
        assert.equal(wasm.indexOf(buf, n, from), jsKernels.indexOf(buf, n, from));
      }),
      RUNS,
    );
    // a needle cut from the haystack is always found
    fc.assert(
      fc.property(text.filter((b) => b.length > 0), fc.nat(), fc.integer({ min: 1, max: 40 }), (buf, at, len) => {
        const s = at % buf.length;
        const n = buf.slice(s, Math.min(buf.length, s + len));
        const w = wasm.indexOf(buf, n, 0);
        assert.equal(w, jsKernels.indexOf(buf, n, 0));
        assert.ok(w >= 0 && w <= s);
      }),
      RUNS,
    );
  });

  test('byteOffsets: equal, including when `out` is too small', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 3000 }), (buf, max) => {
        const ow = new Int32Array(max);
        const oj = new Int32Array(max);
        const cw = wasm.byteOffsets(buf, 10, ow);
        const cj = jsKernels.byteOffsets(buf, 10, oj);
        assert.equal(cw, cj);
        assert.deepEqual(ow.subarray(0, cw), oj.subarray(0, cj));
      }),
      RUNS,
    );
  });

  const words = (n: number): fc.Arbitrary<Uint32Array> => fc.array(fc.nat({ max: 0xffffffff }), { minLength: n, maxLength: n }).map((xs) => Uint32Array.from(xs));

  test('popcount and jaccard: equal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }).chain((n) => fc.tuple(words(n), words(n))), ([a, b]) => {
        assert.equal(wasm.popcount(a), jsKernels.popcount(a));
        assert.equal(wasm.jaccard(a, b), jsKernels.jaccard(a, b));
        assert.equal(wasm.jaccard(a, a), 1);
      }),
      RUNS,
    );
    assert.equal(wasm.jaccard(new Uint32Array(8), new Uint32Array(8)), 1);
    assert.equal(jsKernels.popcount(Uint32Array.from([0xffffffff, 1])), 33);
  });

  test('maskedHash: equal, and equal exactly when the masked texts are equal', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), fc.integer(), (text, seed) => {
        const buf = Buffer.from(text, 'utf8');
        assert.equal(wasm.maskedHash(buf, 0, buf.length, seed), jsKernels.maskedHash(buf, 0, buf.length, seed));
      }),
      RUNS,
    );
    // messages from templates with variable numbers, hex ids and words: same mask ⇔ same hash
    const word = fc.oneof(
      fc.constantFrom('user', 'failed', 'GET', 'cafe', 'deadbeefcafe', 'x-id', 'v', 'é'),
      fc.nat().map(String),
      fc.nat().map((n) => `0x${n.toString(16)}`),
      fc.nat().map((n) => `worker-${n % 10}`),
    );
    const message = fc.array(fc.tuple(word, fc.constantFrom(' ', ': ', '/', '.', ', ', '=', '#', ' #')), { maxLength: 12 }).map((parts) => parts.map(([w, d]) => w + d).join(''));
    fc.assert(
      fc.property(message, message, (a, b) => {
        const ba = Buffer.from(a);
        const bb = Buffer.from(b);
        const sameMask = maskText(a) === maskText(b);
        const sameHash = wasm.maskedHash(ba, 0, ba.length, 0) === wasm.maskedHash(bb, 0, bb.length, 0);
        assert.equal(sameHash, sameMask, `${a} | ${b} → ${maskText(a)} | ${maskText(b)}`);
      }),
      { numRuns: 1000 },
    );
    // a literal '#' and a masked number read alike, and hash alike
    const lit = Buffer.from('issue # closed');
    const num = Buffer.from('issue 42 closed');
    assert.equal(maskText('issue # closed'), maskText('issue 42 closed'));
    assert.equal(wasm.maskedHash(lit, 0, lit.length, 0), wasm.maskedHash(num, 0, num.length, 0));
    assert.equal(maskText('user 4711 from 10.0.3.7, req 5f3a-9c, sess deadbeefcafe, caf\u00e9'), 'user # from #.#.#.#, req #, sess #, caf\u00e9');
    const a = Buffer.from('user 4711 logged in');
    const b = Buffer.from('user 12 logged in');
    assert.equal(jsKernels.maskedHash(a, 0, a.length, 0), jsKernels.maskedHash(b, 0, b.length, 0));
    assert.notEqual(jsKernels.maskedHash(a, 0, a.length, 0), jsKernels.maskedHash(a, 0, a.length, 503));
  });

  test('the WASM line scanner finds the same line ends as the JS one', () => {
    const w = createWasmLineScanner(module, 4096);
    const j = createJsLineScanner(4096);
    fc.assert(
      fc.property(text.map((b) => b.subarray(0, 4096)), (buf) => {
        w.buffer.set(buf);
        j.buffer.set(buf);
        const cw = w.scan(buf.length);
        const cj = j.scan(buf.length);
        assert.equal(cw, cj);
        assert.deepEqual(w.ends.subarray(0, cw), j.ends.subarray(0, cj));
        assert.equal(w.hash(0, buf.length, 7), j.hash(0, buf.length, 7));
      }),
      RUNS,
    );
  });
});

describe('the kernels facade', () => {
  test('the switch picks the implementation per call; the monitor counts each side', () => {
    let on = true;
    const k = createKernels({ useWasm: () => on, sampleEvery: 1, shadowEvery: 0 });
    assert.equal(k.status().wasm, 'loaded');
    const a = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    k.dot(a, a);
    k.dot(a, a);
    on = false;
    assert.equal(k.active(), 'js');
    k.dot(a, a);
    const snap = k.monitor.snapshot().kernels.dot;
    assert.equal(snap.wasm.calls, 2);
    assert.equal(snap.js.calls, 1);
    assert.equal(snap.wasm.timedCalls, 2);
    assert.ok(snap.wasm.nsPerElement! > 0 && snap.js.nsPerElement! > 0);
    assert.ok(snap.speedup! > 0);
  });

  test('shadow runs measure the side the switch is not using', () => {
    const k = createKernels({ useWasm: () => true, sampleEvery: 1, shadowEvery: 1 });
    const a = new Float32Array(1000).fill(1);
    for (let i = 0; i < 5; i++) assert.equal(k.sum(a), 1000);
    const s = k.monitor.snapshot().kernels.sum;
    assert.equal(s.wasm.calls, 5);
    assert.equal(s.js.calls, 0);
    assert.equal(s.js.timedCalls, 5);
    assert.notEqual(s.speedup, null);
  });

  test('calibrate reports a speed-up for every kernel', () => {
    const k = createKernels({ useWasm: () => true });
    const snap = k.calibrate({ n: 1000, rounds: 20 });
    for (const name of KERNEL_NAMES) assert.ok(snap.kernels[name].speedup! > 0, name);
    assert.ok(snap.speedup! > 0);
  });

  test('a missing module: the JS twin serves and the reason is logged once', () => {
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const log = { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) };
    const k = createKernels({ wasmUrl: pathToFileURL('/nonexistent/kernels.wasm'), log });
    assert.equal(k.status().wasm, 'unavailable');
    assert.match(k.status().reason!, /not found/);
    assert.equal(k.active(), 'js');
    assert.equal(k.sum(Float32Array.from([1, 2, 3])), 6);
    assert.equal(k.countByte(Buffer.from('a\nb\n'), 10), 2);
    assert.equal(k.lineScanner(64).impl, 'js');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.msg, /JS fallback/);
    assert.equal(k.monitor.snapshot().kernels.sum.js.calls, 1);
  });

  test('a file that is not WebAssembly: the reason names the compile error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernels-'));
    try {
      writeFileSync(join(dir, 'bad.wasm'), 'not wasm at all');
      const k = createKernels({ wasmUrl: pathToFileURL(join(dir, 'bad.wasm')) });
      assert.equal(k.status().wasm, 'unavailable');
      assert.match(k.status().reason!, /cannot compile/);
      assert.equal(k.dot(Float32Array.from([1, 2]), Float32Array.from([3, 4])), 11);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('a WASM module that traps', () => {
    let dir: string;
    before(() => {
      // a real module with the right exports whose sumF32 traps: stands in for a kernel bug
      dir = mkdtempSync(join(tmpdir(), 'kernels-trap-'));
      const src = join(dir, 'trap.ts');
      writeFileSync(
        src,
        [
          'export function heapBase(): usize { return (__heap_base + 15) & ~(<usize>15); }',
          'export function sumF32(p: usize, n: i32): f64 { unreachable(); return 0; }',
          ...['dotF32(a: usize, b: usize, n: i32): f64', 'percentileF32(p: usize, n: i32, q: f64): f64', 'jaccard(a: usize, b: usize, n: i32): f64', 'maskedHash(p: usize, n: i32, s: i32): f64'].map((s) => `export function ${s} { return 0; }`),
          ...['countByte(p: usize, n: i32, b: i32): i32', 'byteOffsets(p: usize, n: i32, b: i32, o: usize, m: i32): i32', 'indexOfBytes(a: usize, n: i32, b: usize, m: i32, f: i32): i32', 'popcount(p: usize, n: i32): i32'].map((s) => `export function ${s} { return 0; }`),
          'export function statsF32(p: usize, n: i32, o: usize): void {}',
          'export function logLevels(b: usize, s: i32, n: i32, o: usize): void {}',
        ].join('\n'),
      );
      execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', src, '--outFile', join(dir, 'trap.wasm'), '--runtime', 'stub'], { stdio: 'pipe' });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('the call is served by JS, the error counted, WASM switched off with one log line', () => {
      const warnings: string[] = [];
      const k = createKernels({ wasmUrl: pathToFileURL(join(dir, 'trap.wasm')), log: { warn: (_o, msg) => warnings.push(msg) }, sampleEvery: 1000 });
      assert.equal(k.status().wasm, 'loaded');
      const a = Float32Array.from([1, 2, 3, 4]);
      assert.equal(k.sum(a), 10);
      assert.equal(k.sum(a), 10);
      const s = k.monitor.snapshot().kernels.sum;
      assert.equal(s.wasm.errors, 1);
      assert.equal(s.js.calls, 1);
      assert.equal(k.status().wasm, 'failed');
      assert.match(k.status().reason!, /sum threw/);
      assert.equal(k.active(), 'js');
      assert.equal(warnings.length, 1);
    });
  });

  test('bad input gets a KernelError with a stable code, never a crash', () => {
    const k = createKernels();
    const cases: Array<[() => unknown, string]> = [
      [() => k.dot(new Float32Array(3), new Float32Array(4)), 'KERNEL_INPUT_INVALID'],
      [() => k.sum([1, 2] as unknown as Float32Array), 'KERNEL_INPUT_INVALID'],
      [() => k.percentile(new Float32Array(3), 101), 'KERNEL_INPUT_INVALID'],
      [() => k.percentile(new Float32Array(3), Number.NaN), 'KERNEL_INPUT_INVALID'],
      [() => k.percentile(new Float32Array(3), 50, 0), 'KERNEL_INPUT_INVALID'],
      [() => k.countByte(Buffer.alloc(1), 256), 'KERNEL_INPUT_INVALID'],
      [() => k.jaccard(new Uint32Array(1), new Uint32Array(2)), 'KERNEL_INPUT_INVALID'],
      [() => k.lineScanner(1 << 30), 'KERNEL_INPUT_INVALID'],
      [() => k.sum({ byteLength: 2 ** 30 } as unknown as Float32Array), 'KERNEL_INPUT_INVALID'],
    ];
    for (const [fn, code] of cases) assert.throws(fn, (e: unknown) => hasCode(e, code), code);
    assert.ok(Number.isNaN(k.percentile(new Float32Array(0), 50)));
    assert.equal(k.indexOf(Buffer.from('hello world'), 'world'), 6);
    assert.equal(k.indexOf(Buffer.from('hello world'), 'o', 5), 7);
  });

  test('gauges in a real metrics registry expose calls and the speed-up', () => {
    const metrics = createMetricsRegistry();
    const k = createKernels({ metrics, sampleEvery: 1, shadowEvery: 1 });
    k.popcount(new Uint32Array(100).fill(3));
    const text = metrics.exposition();
    assert.match(text, /code_kernel_calls\{kernel="popcount",impl="wasm"\} 1/);
    assert.match(text, /code_kernel_speedup\{kernel="popcount"\} \d/);
    assert.match(text, /code_kernel_wasm_active 1/);
  });
});
