/**
 * npm run bench -- probe
 *
 * A full TCP connect scan of 127.0.0.1, ports 1-65535, ours (a fresh Prober with its defaults each
 * round, so no cached answer) against `nmap -sT -p- -T5 -n 127.0.0.1`, alternating in a rotating
 * order, several rounds; medians reported, ratio = median of the per-round ratios. nmap's figure is its own `elapsed` (start-up excluded), which favours
 * nmap; ours is the whole `prober.scan()` call, 65,535 result objects included. ops = ports per
 * second. A second line does the same with the net.Socket dialer (the fallback behind the
 * `probe.rawSockets` flag). Needs nmap (apt-get install nmap).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Prober } from '../src/capabilities/probe/index.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PORTS = 65535;

async function nmap(): Promise<{ ms: number; wallMs: number; open: number[] }> {
  const t0 = performance.now();
  const { stdout } = await run('nmap', ['-sT', '-p-', '-T5', '-n', '-oX', '-', '127.0.0.1'], { timeout: 300_000, maxBuffer: 64 << 20 });
  const wallMs = performance.now() - t0;
  const elapsed = /<finished [^>]*elapsed="([\d.]+)"/.exec(stdout);
  if (!elapsed) throw new Error('nmap printed no elapsed time');
  const open = [...stdout.matchAll(/portid="(\d+)"><state state="open"/g)].map((m) => Number(m[1]));
  return { ms: Number(elapsed[1]) * 1000, wallMs, open };
}

async function ours(dialer: 'raw' | 'net'): Promise<{ ms: number; open: number[] }> {
  const prober = new Prober({ dialer: () => dialer });
  const t0 = performance.now();
  const r = await prober.scan({ targets: ['127.0.0.1'], ports: 'all' });
  const ms = performance.now() - t0;
  if (r.results.length !== PORTS) throw new Error(`expected ${PORTS} results, got ${r.results.length}`);
  return { ms, open: r.results.filter((x) => x.state === 'open').map((x) => x.port) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Rounds alternate the contenders in a rotating order, so each round compares them under the same
// machine load; the ratio is the median of the per-round ratios.
const rounds: Record<'raw' | 'net' | 'nmap' | 'nmapWall', number[]> = { raw: [], net: [], nmap: [], nmapWall: [] };
const lastOpen: Record<string, number[]> = {};
await ours('raw'); // warm-up: JIT, and the kernel's socket caches
await nmap();
const contenders = ['raw', 'nmap', 'net'] as const;
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < contenders.length; k++) {
    const who = contenders[(k + r) % contenders.length]!;
    (globalThis as { gc?: () => void }).gc?.();
    if (who === 'nmap') {
      const n = await nmap();
      rounds.nmap.push(n.ms);
      rounds.nmapWall.push(n.wallMs);
      lastOpen.nmap = n.open;
    } else {
      const o = await ours(who);
      rounds[who].push(o.ms);
      lastOpen[who] = o.open;
    }
  }
}

const peerMs = median(rounds.nmap);
for (const dialer of ['raw', 'net'] as const) {
  const ms = median(rounds[dialer]);
  console.log(JSON.stringify({
    bench: `probe.full_scan.127.0.0.1.${dialer}`,
    ours_ops: Math.round(PORTS / (ms / 1000)),
    peer: 'nmap -sT -p- -T5 -n',
    peer_ops: Math.round(PORTS / (peerMs / 1000)),
    ratio: Number(median(rounds[dialer].map((x, i) => rounds.nmap[i]! / x)).toFixed(3)),
    ours_ms: Math.round(ms),
    peer_ms: Math.round(peerMs),
    peer_wall_ms: Math.round(median(rounds.nmapWall)),
    rounds: ROUNDS,
  }));
}
// Agreement on the last round (a listener of another process may come and go between two scans).
console.log(JSON.stringify({ bench: 'probe.full_scan.open_ports', ours_raw: lastOpen.raw, ours_net: lastOpen.net, nmap: lastOpen.nmap }));
