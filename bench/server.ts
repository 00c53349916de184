// npm run bench -- server [--seconds N] [--rounds N]
// Idle RSS of `codectl serve` after start-up (and after the load), and /health throughput under autocannon (100 connections)
// against a bare fastify route, alternated in one run.
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, emit, median, npmStartCommand, numberArg, round, rssMb, startChild, stopChild } from './_lib.js';

const seconds = numberArg('--seconds', 10);
const rounds = numberArg('--rounds', 5); // medians of 5 rounds, each server once per round: the VM's host steals CPU in bursts
const root = new URL('../', import.meta.url).pathname;
const IDLE_MS = 10_000;
interface Fig {
  rps: number;
  cpuUs: number;
}

if (!existsSync(join(root, 'dist/runtime/cli/main.js'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });

const work = mkdtempSync(join(tmpdir(), 'code-bench-server-'));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, CODE_LOG_LEVEL: 'warn', CODE_SERVER_PORT: '0' };
const spawnedAt = performance.now();
// Started exactly as `npm start` starts it (same environment and node flags, read from package.json).
const start = npmStartCommand(root.replace(/\/$/, ''));
const ours = await startChild(process.execPath, start.nodeArgs, /Server listening at (http:\/\/[\d.:]+)/, { cwd: work, env: { ...env, ...start.env, CODE_LOG_LEVEL: 'info' } });
const listeningMs = performance.now() - spawnedAt; // spawn → listening (the /health route is registered before listen)
const firstHealth = await fetch(`${ours.match[1]!}/health`);
const healthMs = performance.now() - spawnedAt; // spawn → first /health answered, before the other servers start
const bare = await startChild(process.execPath, [join(root, 'bench/_bare-fastify.mjs')], /BARE listening on (http:\/\/[\d.:]+)/, { cwd: root });
// The same server with process.nextTick left unprimed (src/runtime/prime-ticks.ts), for the ratio.
const unprimedWork = mkdtempSync(join(tmpdir(), 'code-bench-server-unprimed-'));
const unprimed = await startChild(process.execPath, start.nodeArgs, /Server listening at (http:\/\/[\d.:]+)/, { cwd: unprimedWork, env: { ...env, ...start.env, CODE_LOG_LEVEL: 'info', CODE_PRIME_TICKS: '0' } });
const oursUrl = ours.match[1]!;
const bareUrl = bare.match[1]!;

try {
  emit({ bench: 'server.startup', startup_ms: round(healthMs, 0), listening_ms: round(listeningMs, 0), health_status: firstHealth.status, target_ms: 5000 });
  // RSS while idle after start-up: at 2 s, before the memory monitor's idle trim, and at 10 s, once it
  // has given the young generation back (V8 shrinks it only after 5 s of low allocation).
  await sleep(2000);
  const earlyRss = rssMb(ours.child.pid!);
  await sleep(IDLE_MS - 2000);
  emit({ bench: 'server.idle_rss', rss_mb: round(rssMb(ours.child.pid!), 1), idle_s: IDLE_MS / 1000, rss_at_2s_mb: round(earlyRss, 1), peer: 'limit:bare-fastify', peer_rss_mb: round(rssMb(bare.child.pid!), 1), target_mb: 80 });

  // One round: autocannon against one server; its req/s, and the server's CPU time (user + system,
  // from /proc) per request, which the host's CPU steal and the client's own cost disturb less.
  const run = async (url: string, pid: number): Promise<{ rps: number; cpuUs: number }> => {
    const cpu0 = cpuSeconds(pid);
    const result = await autocannon({ url: `${url}/health`, connections: 100, duration: seconds, pipelining: 1 });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { rps: result.requests.average, cpuUs: ((cpuSeconds(pid) - cpu0) * 1e6) / result.requests.total };
  };
  const contenders = [
    { name: 'bare', url: bareUrl, pid: bare.child.pid!, rounds: [] as Array<{ rps: number; cpuUs: number }> },
    { name: 'ours', url: oursUrl, pid: ours.child.pid!, rounds: [] as Array<{ rps: number; cpuUs: number }> },
    { name: 'unprimed', url: unprimed.match[1]!, pid: unprimed.child.pid!, rounds: [] as Array<{ rps: number; cpuUs: number }> },
  ];
  for (const c of contenders) await run(c.url, c.pid); // warm-up, not counted
  for (let i = 0; i < rounds; i++) {
    // alternated order: whoever runs first or last in a round gets no steady advantage
    for (const c of i % 2 === 0 ? contenders : [...contenders].reverse()) c.rounds.push(await run(c.url, c.pid));
  }
  const [b, o, u] = contenders.map((c) => ({ rps: median(c.rounds.map((r) => r.rps)), cpuUs: median(c.rounds.map((r) => r.cpuUs)) })) as [Fig, Fig, Fig];
  emit({ bench: 'server.health', ours_ops: round(o.rps), peer: 'limit:bare-fastify', peer_ops: round(b.rps), ratio: round(o.rps / b.rps, 3), ours_cpu_us_per_req: round(o.cpuUs, 1), peer_cpu_us_per_req: round(b.cpuUs, 1), cpu_ratio: round(b.cpuUs / o.cpuUs, 3), connections: 100, seconds, rounds });
  emit({ bench: 'server.health.unprimed', ours_ops: round(u.rps), peer: 'limit:bare-fastify', peer_ops: round(b.rps), ratio: round(u.rps / b.rps, 3), ours_cpu_us_per_req: round(u.cpuUs, 1), cpu_ratio: round(b.cpuUs / u.cpuUs, 3), primed_vs_unprimed: round(o.rps / u.rps, 3), note: 'CODE_PRIME_TICKS=0' });
  const loadedRss = rssMb(ours.child.pid!);
  await sleep(IDLE_MS);
  emit({ bench: 'server.idle_rss_after_load', rss_mb: round(rssMb(ours.child.pid!), 1), idle_s: IDLE_MS / 1000, rss_at_load_end_mb: round(loadedRss, 1), peer_rss_mb: round(rssMb(bare.child.pid!), 1) });
} finally {
  await stopChild(ours.child);
  await stopChild(bare.child);
  await stopChild(unprimed.child);
  rmSync(work, { recursive: true, force: true });
  rmSync(unprimedWork, { recursive: true, force: true });
}
