// `npm run bench -- kernels [--rounds N] [--ms M]`
// Each kernel's WASM SIMD build against its JS twin on the planning document's workload: 1,000 floats
// (the seed's "SIMD operations" figure was a numpy sum of squares of 1,000 floats: that is
// kernels.dot(a, a) here). Byte kernels get the 4,000 bytes of those floats, bitset kernels 1,000
// 32-bit words. WASM figures include copying the input into WASM memory, as every real call does.
// Contenders alternate round by round; each round runs a contender for --ms; median of rounds.
import { createKernels, createWasmKernels, jsKernels, loadKernelModule } from '../src/platform/kernels/index.js';
import type { KernelFunctions, KernelName } from '../src/platform/kernels/index.js';
import { emit, median, numberArg, round } from './_lib.js';
import { ensureKernelsBuilt } from '../test/platform/kernels/build.js';

const ROUNDS = numberArg('--rounds', 7);
const MS = numberArg('--ms', 40);
const N = 1000;

await ensureKernelsBuilt();
const load = loadKernelModule();
if (!load.ok) throw new Error(load.reason);
const wasm = createWasmKernels(load.module);

// deterministic inputs
let seed = 12345;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const a = Float32Array.from({ length: N }, () => rnd() * 2 - 1);
const b = Float32Array.from({ length: N }, () => rnd() * 2 - 1);
// 4,000 bytes of log-like text: a newline every ~100 bytes, the needle near the end
const text = Buffer.alloc(N * 4);
for (let i = 0; i < text.length; i++) text[i] = i % 97 === 96 ? 10 : 97 + Math.floor(rnd() * 26);
text.write('ERROR', text.length - 40);
const needle = Buffer.from('ERROR');
const offsets = new Int32Array(text.length);
const bits = Uint32Array.from({ length: N }, () => (rnd() * 2 ** 32) >>> 0);
const bits2 = Uint32Array.from({ length: N }, () => (rnd() * 2 ** 32) >>> 0);

let sink = 0;
const work: Array<[KernelName, string, (k: KernelFunctions) => number]> = [
  ['sum', '1,000 f32', (k) => k.sum(a)],
  ['dot', '1,000 f32 (a·a: the seed\'s sum of squares)', (k) => k.dot(a, a)],
  ['stats', '1,000 f32 (mean, variance, min, max)', (k) => k.stats(a).variance],
  ['percentile', '1,000 f32 (p99 over the window)', (k) => k.percentile(a, 99, N)],
  ['countByte', '4,000 bytes', (k) => k.countByte(text, 10)],
  ['indexOf', '4,000 bytes, 5-byte needle near the end', (k) => k.indexOf(text, needle, 0)],
  ['byteOffsets', '4,000 bytes (line ends)', (k) => k.byteOffsets(text, 10, offsets)],
  ['popcount', '1,000 u32 words', (k) => k.popcount(bits)],
  ['jaccard', '1,000 u32 words', (k) => k.jaccard(bits, bits2)],
  ['maskedHash', '4,000 bytes', (k) => k.maskedHash(text, 0, text.length, 0)],
];

/** Calls per second of `fn`, run for about `ms`. */
function rate(fn: () => number, ms: number): number {
  let calls = 0;
  let batch = 64;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink += fn();
    calls += batch;
    elapsed = performance.now() - t0;
    if (elapsed < ms / 8) batch *= 2;
  }
  return (calls / elapsed) * 1000;
}

for (const [name, workload, call] of work) {
  const w = (): number => call(wasm);
  const j = (): number => call(jsKernels);
  for (let i = 0; i < 2000; i++) sink += w() + j(); // warm-up: both optimised before timing
  const ws: number[] = [];
  const js: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      ws.push(rate(w, MS));
      js.push(rate(j, MS));
    } else {
      js.push(rate(j, MS));
      ws.push(rate(w, MS));
    }
  }
  const wOps = median(ws);
  const jOps = median(js);
  emit({ bench: `kernels.${name}`, workload, ours_ops: Math.round(wOps), impl: 'wasm-simd', peer: 'js-twin', peer_ops: Math.round(jOps), ratio: round(wOps / jOps) });
}

// What a caller pays for the facade (input checks, the flag read, the monitor's counting and
// sampled timing) on the smallest useful call, against the raw WASM function.
{
  const facade = createKernels({ useWasm: () => true, shadowEvery: 0 });
  const viaFacade = (): number => facade.dot(a, b);
  const raw = (): number => wasm.dot(a, b);
  for (let i = 0; i < 2000; i++) sink += viaFacade() + raw();
  const fs: number[] = [];
  const rs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    fs.push(rate(viaFacade, MS));
    rs.push(rate(raw, MS));
  }
  emit({ bench: 'kernels.facade.dot', workload: '1,000 f32', ours_ops: Math.round(median(fs)), peer: 'limit:raw-wasm-call', peer_ops: Math.round(median(rs)), ratio: round(median(fs) / median(rs)) });
}

// The monitor's own view: calibrate() runs both sides and reports the speed-up it measured.
{
  const facade = createKernels({ useWasm: () => true });
  const snap = facade.calibrate({ n: N, rounds: 500 });
  const per = Object.fromEntries(Object.entries(snap.kernels).map(([k, v]) => [k, v.speedup === null ? null : round(v.speedup)]));
  emit({ bench: 'kernels.monitor.speedup', speedup_geomean: snap.speedup === null ? null : round(snap.speedup), per_kernel: per });
}

if (sink === 42) console.error('');
