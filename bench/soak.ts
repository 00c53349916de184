// npm run bench -- soak [--seconds 180] [--connections 16] [--warmup 60] [--quiet 15] [--only kinds] [--build] [--trace FILE]
// A few minutes of mixed load (health, KPIs, metrics, config, flags, log analysis, expert reviews,
// 404s and bad requests) with autocannon against `codectl serve` (dist/) on 127.0.0.1, its resident
// set read from /proc every second. Prints the peak RSS (VmHWM, start-up included) and the growth
// between two idle points (15 s without traffic, then a full GC asked through the inspector), one
// after the warm-up load and one after the measured load, per hour of measured load: for RSS
// (growth_mb_per_h) and for the V8 heap (heap_growth_mb_per_h); plus what the server's own leak
// detector measured. The planning document's limits: peak < 500 MB, growth < 10 MB/h. MB are MiB.
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { emit, npmStartCommand, numberArg, round, startChild, stopChild } from './_lib.js';

const args = process.argv.slice(2);
const seconds = numberArg('--seconds', 180);
const connections = numberArg('--connections', 16);
const warmupS = numberArg('--warmup', Math.min(60, Math.round(seconds / 3)));
const quietS = numberArg('--quiet', 15);
const root = new URL('../', import.meta.url).pathname;
const main = join(root, 'dist/runtime/cli/main.js');

if (args.includes('--build') || !existsSync(main) || !existsSync(join(root, 'dist/platform/memory/monitor.js'))) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}

/** VmRSS, VmHWM (peak) and the anonymous / file-backed parts of RSS of a process, MiB. */
function memOf(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

const work = mkdtempSync(join(tmpdir(), 'code-bench-soak-'));
// A 2 MB application log for /v1/logs/analyze (read fresh each time: the analysis is not cached).
const levels = ['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG'];
const lines: string[] = [];
for (let i = 0; i < 20_000; i++) {
  const ts = new Date(Date.UTC(2026, 0, 1, Math.floor(i / 1000), i % 60, i % 60)).toISOString();
  lines.push(`${ts} ${levels[i % levels.length]} [svc-${i % 7}] request ${i} to /api/item/${i % 500} took ${(i * 37) % 900} ms user=${i % 97}`);
}
writeFileSync(join(work, 'app.log'), `${lines.join('\n')}\n`);

const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  CODE_LOG_LEVEL: 'warn',
  CODE_SERVER_PORT: '0',
  CODE_LOGS_ROOTS: JSON.stringify([work]),
  // Leak windows short enough to close a few within the run (default 5 min).
  CODE_MEMORY_LEAK_WINDOW_MS: String(Math.max(10_000, Math.floor((seconds * 1000) / 6))),
};
// The inspector (loopback, random port) lets the bench ask for a full GC at the idle points, so the
// growth compares what the server keeps, not how much garbage happened to be uncollected.
// Otherwise started exactly as `npm start` starts it (environment and node flags from package.json).
const start = npmStartCommand(root.replace(/\/$/, ''));
const server = await startChild(process.execPath, ['--inspect=127.0.0.1:0', ...start.nodeArgs], /Debugger listening on (ws:\/\/\S+)[\s\S]*Server listening at (http:\/\/[\d.:]+)/, { cwd: work, env: { ...env, ...start.env, CODE_LOG_LEVEL: 'info' }, timeoutMs: 60_000 });
const inspectorUrl = server.match[1]!;
let serverTail = '';
const keepTail = (d: Buffer): void => {
  serverTail = (serverTail + d.toString()).slice(-4000);
};
server.child.stdout!.on('data', keepTail);
server.child.stderr!.on('data', keepTail);
const serverState = (): string => (server.child.exitCode !== null || server.child.signalCode !== null ? `server exited (${server.child.exitCode ?? server.child.signalCode}): ${serverTail}` : 'server alive');
const url = server.match[2]!;
const pid = server.child.pid!;

/** HeapProfiler.collectGarbage over the inspector protocol (a full, synchronous GC); 3 tries. */
async function fullGc(): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const ws = new WebSocket(inspectorUrl);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer in 30 s')), 30_000);
        ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
        ws.addEventListener('message', (e) => {
          if ((JSON.parse(String(e.data)) as { id?: number }).id === 1) {
            clearTimeout(timer);
            resolve();
          }
        });
        ws.addEventListener('error', (e) => {
          clearTimeout(timer);
          reject(new Error(`inspector connection failed: ${(e as { message?: string }).message ?? 'unknown'}`));
        });
      });
      ws.close();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`${(last as Error).message}; ${serverState()}`);
}

const json = { 'content-type': 'application/json' };
const questions = Array.from({ length: 40 }, (_, i) => `Is the deployment of service ${i} with ${i % 5 + 1} replicas behind a public load balancer safe to ship?`);
let q = 0;
const mix: Array<[string, autocannon.Request]> = [
  ['health', { method: 'GET', path: '/health' }],
  ['kpis', { method: 'GET', path: '/v1/kpis' }],
  ['metrics', { method: 'GET', path: '/metrics' }],
  ['config', { method: 'GET', path: '/v1/config' }],
  ['flags', { method: 'GET', path: '/v1/flags' }],
  ['logs', { method: 'POST', path: '/v1/logs/analyze', headers: json, body: JSON.stringify({ paths: ['app.log'], top: 10 }) }],
  [
    'experts',
    {
      method: 'POST',
      path: '/v1/consultations',
      headers: json,
      // A rotating set of review questions: some answered from the experts' cache, some fresh.
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ kind: 'review', question: questions[q++ % questions.length], context: { replicas: q % 5, public: true }, fresh: q % 4 === 0 }) }),
    },
  ],
  ['notfound', { method: 'GET', path: '/v1/no-such-route' }],
  ['invalid', { method: 'POST', path: '/v1/consultations', headers: json, body: '{"question": ""}' }], // 400: empty question
];
// --only health,logs: a subset of the mix (to find which traffic a growth comes from).
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]!.split(',')) : null;
const requests = mix.filter(([name]) => !only || only.has(name)).map(([, r]) => r);
if (requests.length === 0) throw new Error(`--only matches nothing; kinds: ${mix.map(([n]) => n).join(',')}`);

const traceAt = args.indexOf('--trace');
const trace = traceAt >= 0 ? args[traceAt + 1] : undefined;
const samples: Array<{ t: number; rss: number; anon: number; file: number; heap?: number }> = [];
const started = Date.now();
const sampler = setInterval(() => {
  try {
    const m = memOf(pid);
    const s: (typeof samples)[number] = { t: (Date.now() - started) / 1000, rss: m.rss, anon: m.anon, file: m.file };
    samples.push(s);
    // With --trace, also the server's own heap figure (one extra request a second).
    if (trace) {
      void fetch(`${url}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          s.heap = Number(/^code_memory_heap_used_bytes (\S+)$/m.exec(text)?.[1]) / 1048576;
        })
        .catch(() => undefined);
    }
  } catch (_) {
    // the server exited: reported below
  }
}, 1000);

/** Server heap used (its own gauge, refreshed every monitor tick), MiB. */
async function serverHeapMb(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^code_memory_heap_used_bytes (\S+)$/m.exec(text)?.[1]) / 1048576;
}

/** No traffic for `quietS`, then a full GC: RSS (median of 3 readings) and heap used after it. */
async function idlePoint(): Promise<{ t: number; rss: number; heap: number }> {
  await new Promise((r) => setTimeout(r, quietS * 1000));
  await fullGc();
  const rss: number[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(memOf(pid).rss);
  }
  rss.sort((x, y) => x - y);
  // The server's heap gauge is refreshed each monitor tick (1 s): read it after one has passed.
  return { t: (Date.now() - started) / 1000, rss: rss[1]!, heap: await serverHeapMb() };
}

try {
  // Warm-up load, an idle point, the measured load, another idle point: growth is idle-to-idle.
  await autocannon({ url, connections, duration: warmupS, requests });
  const before = await idlePoint();
  const loadStart = Date.now();
  const result = await autocannon({ url, connections, duration: seconds - warmupS, requests });
  const measuredH = (Date.now() - loadStart) / 3_600_000;
  const after = await idlePoint();
  clearInterval(sampler);
  const { hwm, rss } = memOf(pid);
  if (trace) writeFileSync(trace, JSON.stringify(samples));
  // Under load RSS swings by ±5 MiB within seconds (±150 MiB/h of noise over two minutes); idle
  // points after a full GC compare what the server keeps.
  const growth = (after.rss - before.rss) / measuredH;
  const heapGrowth = (after.heap - before.heap) / measuredH;
  const kpisRes = await fetch(`${url}/v1/kpis`);
  const kpis = (await kpisRes.json()) as { kpis: Array<{ name: string; value: number | null }> };
  if (!Array.isArray(kpis.kpis)) throw new Error(`GET /v1/kpis: ${kpisRes.status} ${JSON.stringify(kpis)}`);
  const kpi = (name: string): number | null => kpis.kpis.find((k) => k.name === name)?.value ?? null;
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const shed = [...metrics.matchAll(/^code_http_shed_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  emit({
    bench: 'soak',
    peak_rss_mb: round(hwm, 1),
    growth_mb_per_h: round(growth, 1),
    heap_growth_mb_per_h: round(heapGrowth, 1),
    monitor_heap_growth_mb_per_h: kpi('memory.growth') === null ? null : round(kpi('memory.growth')!, 1),
    idle_rss_mb: [round(before.rss, 1), round(after.rss, 1)],
    end_rss_mb: round(rss, 1),
    seconds,
    warmup_s: warmupS,
    quiet_s: quietS,
    connections,
    mix: only ? [...only].join(',') : 'all',
    requests: result.requests.total,
    rps: round(result.requests.average, 0),
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, (v as { count: number }).count])),
    errors: result.errors,
    shed,
    memory_level_end: kpi('memory.level'),
    target_peak_mb: 500,
    target_growth_mb_per_h: 10,
  });
} finally {
  clearInterval(sampler);
  await stopChild(server.child);
  rmSync(work, { recursive: true, force: true });
}
