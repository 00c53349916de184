// `npm run bench -- logs [--mb 200] [--rounds 5]`
// The log analyzer against GNU grep on the same 200 MB synthetic log, in one run: the file is
// generated once under .bench-tmp/ (kept for later runs), read once to warm the page cache, then each
// round runs, in alternating order, `grep -cE 'ERROR|WARN'`, `grep -c ERROR`, our level counting and
// our full analysis (WASM line splitter; the JS twins are measured too). Median of rounds, MB/s of
// wall time. Targets (issue 9): level counting ≥ 50% of `grep -cE 'ERROR|WARN'`, full ≥ 250 MB/s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeLogs } from '../src/capabilities/logs/index.js';
import type { LogReport } from '../src/capabilities/logs/index.js';
import { createKernels } from '../src/platform/kernels/index.js';
import { emit, median, round } from './_lib.js';
import { ensureKernelsBuilt } from '../test/platform/kernels/build.js';
import { writeSyntheticLog } from '../test/capabilities/logs/synthetic.js';

const args = process.argv.slice(2);
const argN = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const MB = argN('--mb', 200);
const ROUNDS = argN('--rounds', 7);
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

function grep(pattern: string[]): { ms: number; count: number } {
  const t0 = performance.now();
  // the environment's locale, as a user would run it (C.UTF-8 here)
  const r = spawnSync('grep', [...pattern, file], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`grep failed: ${r.stderr}`);
  return { ms, count: Number(r.stdout.trim()) };
}

async function ours(mode: 'levels' | 'full', kernels: typeof wasm): Promise<{ ms: number; report: LogReport }> {
  const t0 = performance.now();
  const report = await analyzeLogs([file], { mode, kernels, year: 2024 });
  return { ms: performance.now() - t0, report };
}

// one untimed pass each, so every contender is warm (JIT, page cache)
grep(['-cE', 'ERROR|WARN']);
await ours('levels', wasm);
await ours('full', wasm);
await ours('levels', js);
await ours('full', js);

const contenders: Array<[string, () => Promise<number>]> = [
  ['grepEW', async () => grep(['-cE', 'ERROR|WARN']).ms],
  ['grepE', async () => grep(['-c', 'ERROR']).ms],
  ['levels', async () => (await ours('levels', wasm)).ms],
  ['full', async () => (await ours('full', wasm)).ms],
  ['levelsJs', async () => (await ours('levels', js)).ms],
  ['fullJs', async () => (await ours('full', js)).ms],
];
const times: Record<string, number[]> = Object.fromEntries(contenders.map(([k]) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? contenders : [...contenders].reverse();
  for (const [name, run] of order) times[name]!.push(await run());
}
const rate = (name: string): number => mb / (median(times[name]!) / 1000);

const grepEW = rate('grepEW');
const grepE = rate('grepE');
const levels = rate('levels');
const full = rate('full');
const levelsJs = rate('levelsJs');
const fullJs = rate('fullJs');
const file_mb = round(mb, 1);
emit({ bench: 'logs.levels', file_mb, mb_per_s: Math.round(levels), peer: "grep -cE 'ERROR|WARN'", peer_mb_per_s: Math.round(grepEW), ratio: round(levels / grepEW), target_ratio: 0.5, grep_c_error_mb_per_s: Math.round(grepE) });
emit({ bench: 'logs.full', file_mb, mb_per_s: Math.round(full), peer: "grep -cE 'ERROR|WARN'", peer_mb_per_s: Math.round(grepEW), ratio: round(full / grepEW), target_mb_per_s: 250 });
emit({ bench: 'logs.levels.kernel', mb_per_s: Math.round(levels), impl: 'wasm', peer: 'js-twin', peer_mb_per_s: Math.round(levelsJs), ratio: round(levels / levelsJs) });
emit({ bench: 'logs.full.kernel', mb_per_s: Math.round(full), impl: 'wasm', peer: 'js-twin', peer_mb_per_s: Math.round(fullJs), ratio: round(full / fullJs) });

// bounded memory: the whole run (generation aside, which writes in 4 MiB pieces) stays small
emit({ bench: 'logs.memory', file_mb, peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1), chunk_bytes: 1 << 20 });
