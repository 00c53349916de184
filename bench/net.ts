// `npm run bench -- net [--rounds N] [--requests N] [--concurrency N]`
// Throughput of our HttpClient against raw undici Pool.request and node:http with a keep-alive agent,
// same local server (in a child process, so it does not share our event loop), same run, rounds
// alternated, median reported. Then the memory of batchStream over 1,000,000 items.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { Pool } from 'undici';
import { createMetricsRegistry } from '../src/platform/metrics/registry.js';
import { HttpClient, batchStream } from '../src/platform/net/index.js';
import { numberArg } from './_lib.js';

const ROUNDS = numberArg('--rounds', 9);
const REQUESTS = numberArg('--requests', 10_000);
const CONCURRENCY = numberArg('--concurrency', 32);
const CONNECTIONS = 16;

// The server answers every request with the same canned HTTP/1.1 keep-alive response, parsing only
// the end of each request head: it costs a few µs per request, so the client side is what is measured
// (a node:http server would be the bottleneck and hide the differences between clients).
const SERVER = `
const net = require('node:net');
const body = JSON.stringify({ ok: true, items: [1, 2, 3], note: 'a small JSON answer like a health check' });
const response = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + Buffer.byteLength(body) + '\\r\\nconnection: keep-alive\\r\\nkeep-alive: timeout=30\\r\\n\\r\\n' + body);
const s = net.createServer((sock) => {
  sock.setNoDelay(true);
  let tail = '';
  sock.on('data', (chunk) => {
    const text = tail + chunk.toString('latin1');
    let from = 0, n = 0, i;
    while ((i = text.indexOf('\\r\\n\\r\\n', from)) >= 0) { n++; from = i + 4; }
    tail = text.slice(from);
    if (n === 1) sock.write(response); else if (n > 1) sock.write(Buffer.concat(Array(n).fill(response)));
  });
  sock.on('error', () => {});
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(child.stdout!, 'data')) as [Buffer];
const port = Number(portLine.toString().trim());
const origin = `http://127.0.0.1:${port}`;
const url = `${origin}/health`;

const ours = new HttpClient({ connectionsPerOrigin: CONNECTIONS, keepAliveTimeoutMs: 20_000 });
const oursMetered = new HttpClient({ connectionsPerOrigin: CONNECTIONS, keepAliveTimeoutMs: 20_000, metrics: createMetricsRegistry() });
const pool = new Pool(origin, { connections: CONNECTIONS, keepAliveTimeout: 20_000 });
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS, keepAliveMsecs: 20_000 });

type One = () => Promise<unknown>;
const contenders: Record<string, One> = {
  ours: async () => (await ours.request(url)).text(),
  'ours+metrics': async () => (await oursMetered.request(url)).text(),
  undici: async () => (await pool.request({ path: '/health', method: 'GET' })).body.text(),
  'node-http': () =>
    new Promise<string>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => resolve(data));
          res.on('error', reject);
        })
        .on('error', reject);
    }),
};

/** `n` requests with `concurrency` workers; returns requests per second and client CPU µs per request. */
async function drive(one: One, n: number, concurrency: number): Promise<{ rps: number; cpuUs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await one();
    }),
  );
  const rps = (n * 1e9) / Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { rps, cpuUs: (cpu.user + cpu.system) / n };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const line = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

const names = Object.keys(contenders);
for (const name of names) await drive(contenders[name]!, 2_000, CONCURRENCY); // warm-up: connections and JIT
const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const cpuSamples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length]!;
    const m = await drive(contenders[name]!, REQUESTS, CONCURRENCY);
    samples[name]!.push(m.rps);
    cpuSamples[name]!.push(m.cpuUs);
  }
}
const rps = Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
const cpuUs = Object.fromEntries(names.map((n) => [n, Math.round(median(cpuSamples[n]!) * 10) / 10]));
const common = { concurrency: CONCURRENCY, connections: CONNECTIONS, requests: REQUESTS, rounds: ROUNDS };
// Ratios are medians of per-round ratios (each round runs every contender back to back), so load from
// other processes that shifts between rounds cancels out. cpu_ratio compares the client CPU spent per
// request (peer ÷ ours: above 1, we spend less), which is what bounds a client's throughput.
const paired = (a: string, b: string, xs: Record<string, number[]>): number => median(xs[a]!.map((v, r) => v / xs[b]![r]!));
const pair = (bench: string, a: string, peer: string, peerKey: string): void =>
  line({
    bench,
    ours_ops: Math.round(rps[a]!),
    peer,
    peer_ops: Math.round(rps[peerKey]!),
    ratio: r3(paired(a, peerKey, samples)),
    cpu_ratio: r3(paired(peerKey, a, cpuSamples)),
    ours_cpu_us_per_req: cpuUs[a],
    peer_cpu_us_per_req: cpuUs[peerKey],
    ...common,
  });
pair('net.request.get', 'ours', 'limit:undici-pool', 'undici');
pair('net.request.get', 'ours', 'node-http-keepalive', 'node-http');
pair('net.request.get.metrics', 'ours+metrics', 'limit:undici-pool', 'undici');

await Promise.all([ours.close(), oursMetered.close(), pool.close()]);
agent.destroy();
child.kill();

// batchStream over 1,000,000 items from an async generator: heap stays flat.
const ITEMS = numberArg('--items', 1_000_000);
async function* source(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heap0 = process.memoryUsage().heapUsed;
let peak = heap0;
let count = 0;
let sum = 0;
const t0 = process.hrtime.bigint();
for await (const r of batchStream(source(ITEMS), async (x: number) => x * 2, { concurrency: 64 })) {
  if (r.ok) sum += r.value;
  if (++count % 100_000 === 0) {
    gc?.();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
if (count !== ITEMS || sum !== ITEMS * (ITEMS - 1)) throw new Error(`batchStream lost items: ${count} results, sum ${sum}`);
line({ bench: 'net.batch.stream', items: ITEMS, items_per_s: Math.round(ITEMS / secs), heap_growth_mb: Math.round(((peak - heap0) / 1048576) * 100) / 100, concurrency: 64 });
