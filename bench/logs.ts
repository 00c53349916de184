// `npm run bench -- logs [--mb 200] [--rounds 5]`
// The log analyzer against GNU grep on the same 200 MB synthetic log, in one run: the file is
// generated once under .bench-tmp/ (kept for later runs), read once to warm the page cache, then each
// round runs, in alternating order, `grep -cE 'ERROR|WARN'`, `grep -c ERROR`, our level counting and
// our full analysis (WASM kernels; the JS twins are measured too). Median of rounds, in MB/s of wall
// time and in MB/s of CPU time (user + system of every thread; bash's `time` for grep), the latter being
// the steadier figure when other work shares the machine.
// Targets (issue 9): level counting ≥ 50% of `grep -cE 'ERROR|WARN'`, full ≥ 250 MB/s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeLogs } from '../src/capabilities/logs/index.js';
import type { LogReport } from '../src/capabilities/logs/index.js';
import { createKernels } from '../src/platform/kernels/index.js';
import { emit, median, numberArg, round } from './_lib.js';
import { ensureKernelsBuilt } from '../test/platform/kernels/build.js';
import { writeSyntheticLog } from '../test/capabilities/logs/synthetic.js';

const MB = numberArg('--mb', 200);
const ROUNDS = numberArg('--rounds', 7);
// A realistic mix: mostly application lines with ISO timestamps, some JSON, syslog and access lines.
const MIX = { iso: 60, isoSpace: 10, json: 15, syslog: 5, access: 10 };
const SEED = 2024;

const dir = join(process.cwd(), '.bench-tmp');
const file = join(dir, `logs-${MB}mb.log`);
const meta = `${file}.json`;
const tag = JSON.stringify({ v: 1, MB, MIX, SEED });

mkdirSync(dir, { recursive: true });
if (!existsSync(file) || !existsSync(meta) || readFileSync(meta, 'utf8') !== tag) {
  const t0 = performance.now();
  writeSyntheticLog(`${file}.part`, { bytes: MB * 1024 * 1024 }, { seed: SEED, stepMs: 40, formats: MIX });
  renameSync(`${file}.part`, file);
  writeFileSync(meta, tag);
  process.stderr.write(`generated ${file} in ${round((performance.now() - t0) / 1000, 1)} s\n`);
}
const bytes = statSync(file).size;
const mb = bytes / 1048576;

// warm the page cache
{
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 22);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

await ensureKernelsBuilt();
const wasm = createKernels({ useWasm: () => true });
const js = createKernels({ useWasm: () => false });
if (wasm.active() !== 'wasm') throw new Error(`WASM kernels did not load: ${wasm.status().reason}`);

interface Run {
  ms: number;
  /** CPU time (user + system, every thread): what the machine's other load cannot inflate much. */
  cpuMs: number;
}

const haveBash = spawnSync('bash', ['-c', 'true']).status === 0;

function grep(pattern: string[]): Run & { count: number } {
  // the environment's locale, as a user would run it (C.UTF-8 here). bash's `time` gives grep's own
  // wall and CPU time to the millisecond (GNU time rounds CPU to 10 ms, a quarter of grep's run).
  if (haveBash) {
    const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%3R %3U %3S"; time grep "$@"', 'bench', ...pattern, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`grep failed: ${r.stderr}`);
    const [real, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
    return { ms: real * 1000, cpuMs: (user + sys) * 1000, count: Number(r.stdout.trim()) };
  }
  const t0 = performance.now();
  const r = spawnSync('grep', [...pattern, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`grep failed: ${r.stderr}`);
  return { ms: performance.now() - t0, cpuMs: Number.NaN, count: Number(r.stdout.trim()) };
}

async function ours(mode: 'levels' | 'full', kernels: typeof wasm): Promise<Run & { report: LogReport }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const report = await analyzeLogs([file], { mode, kernels, year: 2024 });
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, report };
}

// one untimed pass each, so every contender is warm (JIT, page cache)
grep(['-cE', 'ERROR|WARN']);
await ours('levels', wasm);
await ours('full', wasm);
await ours('levels', js);
await ours('full', js);

const contenders: Array<[string, () => Promise<Run>]> = [
  ['grepEW', async () => grep(['-cE', 'ERROR|WARN'])],
  ['grepE', async () => grep(['-c', 'ERROR'])],
  ['levels', () => ours('levels', wasm)],
  ['full', () => ours('full', wasm)],
  ['levelsJs', () => ours('levels', js)],
  ['fullJs', () => ours('full', js)],
];
const runs: Record<string, Run[]> = Object.fromEntries(contenders.map(([k]) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? contenders : [...contenders].reverse();
  for (const [name, run] of order) runs[name]!.push(await run());
}
const rate = (name: string): number => mb / (median(runs[name]!.map((r) => r.ms)) / 1000);
const cpuRate = (name: string): number => mb / (median(runs[name]!.map((r) => r.cpuMs)) / 1000);
const fig = (name: string): { mb_per_s: number; cpu_mb_per_s: number } => ({ mb_per_s: Math.round(rate(name)), cpu_mb_per_s: Math.round(cpuRate(name)) });

const file_mb = round(mb, 1);
const ew = fig('grepEW');
const e1 = fig('grepE');
const lv = fig('levels');
const fu = fig('full');
const lj = fig('levelsJs');
const fj = fig('fullJs');
// MB/s of wall time, and MB/s of CPU time (the fairer figure on a shared, busy machine)
emit({ bench: 'logs.levels', file_mb, ...lv, peer: "grep -cE 'ERROR|WARN'", peer_mb_per_s: ew.mb_per_s, peer_cpu_mb_per_s: ew.cpu_mb_per_s, ratio: round(lv.mb_per_s / ew.mb_per_s), cpu_ratio: round(lv.cpu_mb_per_s / ew.cpu_mb_per_s), target_ratio: 0.5 });
emit({ bench: 'logs.levels.vs_grep_c_error', file_mb, ...lv, peer: 'grep -c ERROR', peer_mb_per_s: e1.mb_per_s, peer_cpu_mb_per_s: e1.cpu_mb_per_s, ratio: round(lv.mb_per_s / e1.mb_per_s), cpu_ratio: round(lv.cpu_mb_per_s / e1.cpu_mb_per_s) });
emit({ bench: 'logs.full', file_mb, ...fu, target_mb_per_s: 250, peer: "grep -cE 'ERROR|WARN'", peer_mb_per_s: ew.mb_per_s, ratio: round(fu.mb_per_s / ew.mb_per_s), cpu_ratio: round(fu.cpu_mb_per_s / ew.cpu_mb_per_s) });
emit({ bench: 'logs.levels.kernel', ...lv, impl: 'wasm', peer: 'js-twin', peer_mb_per_s: lj.mb_per_s, peer_cpu_mb_per_s: lj.cpu_mb_per_s, ratio: round(lv.mb_per_s / lj.mb_per_s), cpu_ratio: round(lv.cpu_mb_per_s / lj.cpu_mb_per_s) });
emit({ bench: 'logs.full.kernel', ...fu, impl: 'wasm', peer: 'js-twin', peer_mb_per_s: fj.mb_per_s, peer_cpu_mb_per_s: fj.cpu_mb_per_s, ratio: round(fu.mb_per_s / fj.mb_per_s), cpu_ratio: round(fu.cpu_mb_per_s / fj.cpu_mb_per_s) });

// bounded memory: the whole run (generation aside, which writes in 4 MiB pieces) stays small
emit({ bench: 'logs.memory', file_mb, peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1), chunk_bytes: 1 << 20 });
