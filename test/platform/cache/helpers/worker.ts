// A cache in a child process, driven over IPC by multiprocess tests: a real second engine instance.
import { Redis } from 'ioredis';
import { createCache } from '../../../../src/platform/cache/index.js';
import type { CacheOptions } from '../../../../src/platform/cache/index.js';

interface Config {
  url: string;
  prefix: string;
  counterKey: string;
  options?: Partial<CacheOptions>;
}

const cfg = JSON.parse(process.env.CACHE_WORKER_CONFIG ?? '{}') as Config;
const cache = await createCache({ name: 'worker', l2: { url: cfg.url, prefix: cfg.prefix }, onWarning: () => undefined, ...cfg.options });
const redis = new Redis(cfg.url);
let localRuns = 0;
let armed: { key: string; n: number; factoryMs: number } | undefined;

type Msg = { id: number; op: string; [k: string]: unknown };
const reply = (id: number, result: unknown): void => void process.send!({ id, ok: true, result });
const fail = (id: number, err: unknown): void => void process.send!({ id, ok: false, error: { code: (err as { code?: string }).code, message: (err as Error).message } });

process.on('message', (msg: Msg) => {
  void handle(msg).then(
    (r) => reply(msg.id, r),
    (e) => fail(msg.id, e),
  );
});

async function handle(m: Msg): Promise<unknown> {
  switch (m.op) {
    // Writes answer with the wall-clock time at which they were done (Redis written, bus message queued).
    case 'set':
      await cache.set(m.key as string, m.value, (m.options as object) ?? undefined);
      return Date.now();
    case 'delete':
      await cache.delete(m.key as string);
      return Date.now();
    case 'deleteByTag':
      await cache.deleteByTag(m.tag as string);
      return Date.now();
    case 'get':
      return (await cache.get(m.key as string)) ?? null;
    case 'peek':
      return cache.getSync(m.key as string) ?? null;
    case 'watch':
      // Resolves with the wall-clock time at which the key left L1.
      return new Promise((resolve) => {
        const t = setInterval(() => {
          if (cache.getSync(m.key as string) === undefined) {
            clearInterval(t);
            resolve(Date.now());
          }
        }, 1);
      });
    case 'arm':
      armed = { key: m.key as string, n: m.n as number, factoryMs: m.factoryMs as number };
      return true;
    case 'go': {
      const a = armed!;
      const factory = async (): Promise<string> => {
        localRuns++;
        await redis.incr(cfg.counterKey);
        await new Promise((r) => setTimeout(r, a.factoryMs));
        return `made-by-${process.pid}`;
      };
      const values = await Promise.all(Array.from({ length: a.n }, () => cache.getOrSet(a.key, factory, { ttl: 60_000 })));
      return { values, localRuns, stats: cache.stats() };
    }
    case 'stats':
      return cache.stats();
    case 'close':
      await cache.close();
      redis.disconnect();
      setImmediate(() => process.exit(0));
      return true;
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

process.send!({ ready: true, pid: process.pid });
