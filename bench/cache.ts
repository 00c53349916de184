// `npm run bench -- cache [--rounds N] [--ms N]`
//
// The tiered cache against bentocache 1.6 and cache-manager 7 configured with the same layers, and
// against the bare primitives (raw lru-cache, raw auto-pipelined ioredis) as limits. Every figure of
// one line is measured in the same run, peers alternated round by round; the median round is reported.
//
//   cache.l1.get           L1 hit, `await get()` one after another (L1 + L2 configured, L1 answers)
//   cache.l1.getSync       our synchronous L1 hit vs a raw lru-cache get
//   cache.l2.get.c100      L2 hit with 100 calls in flight (no L1, so every get goes to Redis)
//   cache.l2.get.c1        L2 hit, one call at a time: bound by the loopback round trip (not a target)
//   cache.l2.getMany100    100 keys from L2: one getMany vs the per-key loop
//   cache.stampede.2proc   factory runs for 100 concurrent getOrSet on one key over 2 processes
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import KeyvRedis from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/platform/cache/index.js';
import type { TieredCache } from '../src/platform/cache/index.js';
import { emit, median, round } from './_lib.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const argv = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const KEYS = 1000;
const keyOf = (i: number): string => `user:${i}`;
const valueOf = (i: number): Record<string, unknown> => ({ id: i, name: `user ${i}`, email: `u${i}@example.test`, roles: ['reader', 'writer'], active: i % 2 === 0 });

// ---- measurement -------------------------------------------------------------------------------------

function opsSync(fn: (i: number) => unknown, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  let sink = 0;
  while (performance.now() < end) {
    for (let j = 0; j < 2000; j++, n++) if (fn(n % KEYS) !== undefined) sink++;
  }
  if (sink !== n) throw new Error(`sync bench: ${n - sink} misses where every get should hit`);
  return (n / (performance.now() - started)) * 1000;
}

async function opsSeq(fn: (i: number) => Promise<unknown>, ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  let misses = 0;
  while (performance.now() < end) {
    for (let j = 0; j < 200; j++, n++) if ((await fn(n % KEYS)) === undefined) misses++;
  }
  if (misses > 0) throw new Error(`bench: ${misses} misses where every get should hit`);
  return (n / (performance.now() - started)) * 1000;
}

async function opsConcurrent(fn: (i: number) => Promise<unknown>, concurrency: number, ms: number): Promise<number> {
  let n = 0;
  let misses = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = w; performance.now() < end; i += concurrency) {
      for (let j = 0; j < 20; j++, i += concurrency) {
        if ((await fn(i % KEYS)) === undefined) misses++;
        n++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  if (misses > 0) throw new Error(`bench: ${misses} misses where every get should hit`);
  return (n / (performance.now() - started)) * 1000;
}

/** Runs every contestant once per round, rotating who goes first; returns the median ops/s of each. */
async function rounds(rounds: number, contestants: Record<string, () => Promise<number> | number>): Promise<Record<string, number>> {
  const names = Object.keys(contestants);
  const results: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      gc();
      results[name]!.push(await contestants[name]!());
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(results[n]!)]));
}

function figure(bench: string, ours: number, peer: string, peerOps: number, extra: Record<string, unknown> = {}): void {
  emit({ bench, ours_ops: Math.round(ours), peer, peer_ops: Math.round(peerOps), ratio: round(ours / peerOps, 3), ...extra });
}

// ---- the contestants ---------------------------------------------------------------------------------

interface Setup {
  prefix: string;
  close: Array<() => Promise<unknown> | unknown>;
}

function bento(setup: Setup, layers: 'l1+l2' | 'l2', tag: string, serializeL1 = true): BentoCache<{ c: ReturnType<typeof bentostore> }> {
  const connection = new Redis(REDIS_URL);
  setup.close.push(() => connection.quit());
  let store = bentostore();
  if (layers === 'l1+l2') store = store.useL1Layer(memoryDriver({ maxItems: 10_000, serialize: serializeL1 }));
  store = store.useL2Layer(redisDriver({ connection, prefix: `${setup.prefix}bento-${tag}` }));
  if (layers === 'l1+l2') {
    const busConn = new Redis(REDIS_URL);
    setup.close.push(() => busConn.quit());
    store = store.useBus(redisBusDriver({ connection: busConn }));
  }
  // The store name also names the bus channel: each instance gets its own, as separate apps would.
  const cache = new BentoCache({ default: 'c', stores: { c: store }, ttl: '1h', prefix: `${setup.prefix}bento-${tag}-root` });
  setup.close.push(() => cache.disconnectAll());
  return cache;
}

function cacheManager(setup: Setup, layers: 'l1+l2' | 'l2', tag: string): ReturnType<typeof createCacheManager> {
  const redisStore = new Keyv({ store: new KeyvRedis(REDIS_URL), namespace: `${setup.prefix}cm-${tag}` });
  // L1: Keyv's default in-memory store (a Map: unbounded, and faster than any bounded one). An
  // lru-cache instance as Keyv store looks right but never hits under Keyv 5: every get fell to Redis.
  const stores = layers === 'l1+l2' ? [new Keyv(), redisStore] : [redisStore];
  const cache = createCacheManager({ stores, ttl: 3_600_000 });
  setup.close.push(() => cache.disconnect());
  return cache;
}

async function ours(setup: Setup, layers: 'l1+l2' | 'l2', tag: string): Promise<TieredCache> {
  const cache = await createCache({
    name: `bench-${tag}`,
    l1: layers === 'l1+l2' ? { maxItems: 10_000 } : false,
    l2: { url: REDIS_URL, prefix: `${setup.prefix}ours-${tag}:` },
    ttlMs: 3_600_000,
    hotKeys: layers === 'l1+l2' ? {} : false,
    onWarning: (m) => process.stderr.write(`cache warning: ${m}\n`),
  });
  setup.close.push(() => cache.close());
  return cache;
}

async function closeAll(setup: Setup): Promise<void> {
  for (const c of setup.close.reverse()) {
    try {
      await c();
    } catch {
      // a connection its library already closed
    }
  }
  setup.close.length = 0;
}

async function dropPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await r.unlink(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

// ---- scenarios ---------------------------------------------------------------------------------------

async function l1Hits(setup: Setup, n: number, ms: number): Promise<void> {
  const o = await ours(setup, 'l1+l2', 'l1');
  // bentocache keeps L1 entries serialised by default (a JSON parse per hit); `serialize: false` is its
  // fastest L1 and the peer of record. Its getOrSet breaks in that mode, so the stampede uses the default.
  const b = bento(setup, 'l1+l2', 'l1', false);
  const bDefault = bento(setup, 'l1+l2', 'l1d');
  const cm = cacheManager(setup, 'l1+l2', 'l1');
  const lru = new LRUCache<string, object>({ max: 10_000 });
  for (let i = 0; i < KEYS; i++) {
    const k = keyOf(i);
    const v = valueOf(i);
    await o.set(k, v);
    await b.set({ key: k, value: v });
    await bDefault.set({ key: k, value: v });
    await cm.set(k, v);
    lru.set(k, v);
  }
  const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
  const r = await rounds(n, {
    ours: () => opsSeq((i) => o.get(keys[i]!), ms),
    bentocache: () => opsSeq((i) => b.get({ key: keys[i]! }), ms),
    bentoDefault: () => opsSeq((i) => bDefault.get({ key: keys[i]! }), ms),
    'cache-manager': () => opsSeq((i) => cm.get(keys[i]!), ms),
    oursSync: () => opsSync((i) => o.getSync(keys[i]!), ms),
    lru: () => opsSync((i) => lru.get(keys[i]!), ms),
  });
  figure('cache.l1.get', r.ours!, 'bentocache', r.bentocache!, { peer_config: 'memoryDriver serialize:false' });
  figure('cache.l1.get', r.ours!, 'bentocache', r.bentoDefault!, { peer_config: 'memoryDriver defaults (serialize:true)' });
  figure('cache.l1.get', r.ours!, 'cache-manager', r['cache-manager']!);
  figure('cache.l1.get', r.ours!, 'limit:lru-cache', r.lru!);
  figure('cache.l1.getSync', r.oursSync!, 'limit:lru-cache', r.lru!);
  const s = o.stats();
  emit({ bench: 'cache.l1.get', ours_hit_rate: round(s.hitRate, 4), ours_l1_items: s.l1!.items });
}

async function l2Hits(setup: Setup, n: number, ms: number): Promise<void> {
  const o = await ours(setup, 'l2', 'l2');
  const b = bento(setup, 'l2', 'l2');
  const cm = cacheManager(setup, 'l2', 'l2');
  const raw = new Redis(REDIS_URL, { enableAutoPipelining: true });
  setup.close.push(() => raw.quit());
  const rawPrefix = `${setup.prefix}raw:`;
  const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
  await o.setMany(keys.map((key, i) => ({ key, value: valueOf(i) })));
  for (let i = 0; i < KEYS; i++) {
    await b.set({ key: keys[i]!, value: valueOf(i) });
    await cm.set(keys[i]!, valueOf(i));
    await raw.set(rawPrefix + keys[i]!, JSON.stringify(valueOf(i)));
  }
  const rawGet = async (i: number): Promise<unknown> => {
    const s = await raw.get(rawPrefix + keys[i]!);
    return s === null ? undefined : JSON.parse(s);
  };
  const c100 = await rounds(n, {
    ours: () => opsConcurrent((i) => o.get(keys[i]!), 100, ms),
    bentocache: () => opsConcurrent((i) => b.get({ key: keys[i]! }), 100, ms),
    'cache-manager': () => opsConcurrent((i) => cm.get(keys[i]!), 100, ms),
    ioredis: () => opsConcurrent(rawGet, 100, ms),
  });
  figure('cache.l2.get.c100', c100.ours!, 'bentocache', c100.bentocache!);
  figure('cache.l2.get.c100', c100.ours!, 'cache-manager', c100['cache-manager']!);
  figure('cache.l2.get.c100', c100.ours!, 'limit:ioredis', c100.ioredis!);
  const c1 = await rounds(n, {
    ours: () => opsSeq((i) => o.get(keys[i]!), ms),
    bentocache: () => opsSeq((i) => b.get({ key: keys[i]! }), ms),
    ioredis: () => opsSeq(rawGet, ms),
  });
  const note = { note: 'one call at a time: bound by the loopback round trip, printed, not a target' };
  figure('cache.l2.get.c1', c1.ours!, 'bentocache', c1.bentocache!, note);
  figure('cache.l2.get.c1', c1.ours!, 'limit:ioredis', c1.ioredis!, note);

  // 100 keys from L2: one getMany (one MGET) vs the per-key loop; ops = keys per second.
  const batch = keys.slice(0, 100);
  const many = async (fn: () => Promise<unknown[]>, loopMs: number): Promise<number> => {
    let calls = 0;
    const end = performance.now() + loopMs;
    const started = performance.now();
    while (performance.now() < end) {
      const got = await fn();
      if (got.some((v) => v === undefined)) throw new Error('getMany bench: a miss');
      calls++;
    }
    return ((calls * batch.length) / (performance.now() - started)) * 1000;
  };
  const loop = (get: (k: string) => Promise<unknown>) => async (): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const k of batch) out.push(await get(k));
    return out;
  };
  const gm = await rounds(n, {
    getMany: () => many(() => o.getMany(batch), ms),
    loop: () => many(loop((k) => o.get(k)), ms),
    bentoLoop: () => many(loop((k) => b.get({ key: k })), ms),
    cmMget: () => many(() => cm.mget(batch), ms),
  });
  figure('cache.l2.getMany100', gm.getMany!, 'ours-per-key-loop', gm.loop!, { unit: 'keys/s' });
  figure('cache.l2.getMany100', gm.getMany!, 'bentocache-per-key-loop', gm.bentoLoop!, { unit: 'keys/s', note: 'bentocache 1.6 has no getMany' });
  figure('cache.l2.getMany100', gm.getMany!, 'cache-manager.mget', gm.cmMget!, { unit: 'keys/s' });
}

// ---- stampede over two processes ---------------------------------------------------------------------

interface WorkerJob {
  lib: 'ours' | 'bentocache';
  prefix: string;
  key: string;
  counterKey: string;
  callers: number;
  factoryMs: number;
}

async function runWorker(): Promise<void> {
  const job = JSON.parse(process.env.CACHE_BENCH_JOB!) as WorkerJob;
  const counter = new Redis(REDIS_URL);
  const setup: Setup = { prefix: job.prefix, close: [] };
  const factory = async (): Promise<string> => {
    await counter.incr(job.counterKey);
    await sleep(job.factoryMs);
    return `made-by-${process.pid}`;
  };
  let go: () => Promise<unknown[]>;
  if (job.lib === 'ours') {
    const c = await ours(setup, 'l1+l2', 'stampede');
    go = () => Promise.all(Array.from({ length: job.callers }, () => c.getOrSet(job.key, factory)));
  } else {
    const b = bento(setup, 'l1+l2', 'stampede');
    await b.get({ key: 'warm-up-connection' });
    go = () => Promise.all(Array.from({ length: job.callers }, () => b.getOrSet({ key: job.key, factory })));
  }
  process.on('message', (m: string) => {
    if (m !== 'go') return;
    void go().then(async (values) => {
      process.send!({ values });
      await closeAll(setup);
      counter.disconnect();
      process.exit(0);
    });
  });
  process.send!('ready');
}

async function stampede(setup: Setup, lib: 'ours' | 'bentocache', key: string): Promise<number> {
  const counterKey = `${setup.prefix}runs:${lib}:${key}`;
  const job: WorkerJob = { lib, prefix: setup.prefix, key, counterKey, callers: 50, factoryMs: 100 };
  const self = fileURLToPath(import.meta.url);
  const children = [0, 1].map(() => fork(self, ['--worker'], { execArgv: ['--import', 'tsx'], env: { ...process.env, CACHE_BENCH_JOB: JSON.stringify(job) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  await Promise.all(children.map((c) => new Promise<void>((resolve) => c.once('message', () => resolve()))));
  const done = children.map((c) => new Promise<{ values: string[] }>((resolve) => c.once('message', resolve as (m: unknown) => void)));
  for (const c of children) c.send('go');
  const timeout = setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, 60_000);
  const results = await Promise.all(done);
  clearTimeout(timeout);
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  const values = results.flatMap((r) => r.values);
  if (values.length !== 100) throw new Error(`stampede: ${values.length} answers, expected 100`);
  const r = new Redis(REDIS_URL);
  const runs = Number(await r.get(counterKey));
  r.disconnect();
  return runs;
}

// ---- main --------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const n = arg('rounds', 5);
  const ms = arg('ms', 300);
  const setup: Setup = { prefix: `bench:cache:${randomUUID().slice(0, 8)}:`, close: [] };
  try {
    await l1Hits(setup, n, ms);
    await l2Hits(setup, n, ms);
    const trials = 3;
    const runs: Record<'ours' | 'bentocache', number[]> = { ours: [], bentocache: [] };
    for (let t = 0; t < trials; t++) {
      for (const lib of t % 2 === 0 ? (['ours', 'bentocache'] as const) : (['bentocache', 'ours'] as const)) runs[lib].push(await stampede(setup, lib, `hot-${t}`));
    }
    emit({
      bench: 'cache.stampede.2proc',
      callers: 100,
      processes: 2,
      trials,
      ours_factory_runs: Math.max(...runs.ours),
      peer: 'bentocache',
      peer_factory_runs: Math.max(...runs.bentocache),
      ours_runs_per_trial: runs.ours,
      peer_runs_per_trial: runs.bentocache,
    });
  } finally {
    await closeAll(setup);
    await dropPrefix(setup.prefix);
  }
}

if (argv.includes('--worker')) await runWorker();
else {
  await main();
  process.exit(0);
}
