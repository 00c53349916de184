/**
 * A real engine server for the memory tests, run in a child process with a small heap. It adds
 * routes that exist only here (never in the product): one that allocates and holds memory, one that
 * leaks, and a state probe. Monitor events go to stdout as JSON lines, stamped by this process.
 *
 * env: CHILD_DIR (work dir), CHILD_MEMORY (JSON overrides of the memory section), CHILD_CACHE_MAX
 * (entries of the test cache, default 400).
 */
import { pino } from 'pino';
import { createEngine } from '../../../../src/runtime/engine.js';
import { buildApp } from '../../../../src/runtime/server/app.js';

const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

/** A cache that behaves like an L1: bounded by entries, shrinkable by the memory monitor. */
class TestCache {
  private readonly map = new Map<number, number[]>();
  private limit: number;
  constructor(readonly max: number) {
    this.limit = max;
  }
  set(k: number, v: number[]): void {
    this.map.delete(k);
    this.map.set(k, v);
    this.evict();
  }
  shrink(fraction: number): void {
    this.limit = Math.max(1, Math.floor(this.max * fraction));
    this.evict();
  }
  restore(): void {
    this.limit = this.max;
  }
  get size(): number {
    return this.map.size;
  }
  private evict(): void {
    for (const k of this.map.keys()) {
      if (this.map.size <= this.limit) break;
      this.map.delete(k);
    }
  }
}

/** `kb` KiB of JS heap (an array of doubles, not a Buffer: Buffers live outside the V8 heap). */
const heapBlock = (kb: number): number[] => {
  const a = new Array<number>(kb * 128);
  for (let i = 0; i < a.length; i++) a[i] = i + 0.5;
  return a;
};

const engine = await createEngine({
  cwd: process.env.CHILD_DIR!,
  env: {},
  logger: pino({ level: 'silent' }),
  overrides: { memory: JSON.parse(process.env.CHILD_MEMORY ?? '{}') },
});
engine.memory.monitor.on((e) => out({ event: e, t: Date.now() }));
const cache = new TestCache(Number(process.env.CHILD_CACHE_MAX ?? 400));
engine.memory.caches.add(cache);
const leaked: number[][] = [];
void leaked;
let nextKey = 0;

const app = await buildApp({ engine, host: '127.0.0.1' });
app.post<{ Body: { kb: number; holdMs: number; keepKb: number } }>(
  '/test/alloc',
  {
    config: { shed: 'low' },
    schema: { body: { type: 'object', properties: { kb: { type: 'integer', maximum: 65536 }, holdMs: { type: 'integer', maximum: 10000 }, keepKb: { type: 'integer', maximum: 65536 } }, required: ['kb', 'holdMs', 'keepKb'] } },
  },
  async (req) => {
    const work = heapBlock(req.body.kb);
    if (req.body.keepKb > 0) cache.set(nextKey++, heapBlock(req.body.keepKb));
    await new Promise((r) => setTimeout(r, req.body.holdMs));
    return { ok: work.length > 0 };
  },
);
// A steady leak: `mbPerSecond` of wall-clock time, whatever the timer jitter; stops at the critical level.
let leakTimer: NodeJS.Timeout | undefined;
app.post<{ Body: { mbPerSecond: number } }>('/test/leak', { config: { shed: 'exempt' }, schema: { body: { type: 'object', properties: { mbPerSecond: { type: 'number', maximum: 1000 } }, required: ['mbPerSecond'] } } }, async (req) => {
  const start = Date.now();
  let leakedKb = 0;
  clearInterval(leakTimer);
  leakTimer = setInterval(() => {
    const due = ((Date.now() - start) / 1000) * req.body.mbPerSecond * 1024;
    while (leakedKb + 64 <= due) {
      leaked.push(heapBlock(64));
      leakedKb += 64;
    }
  }, 20);
  return { started: start };
});
engine.memory.monitor.on((e) => {
  if (e.type === 'level' && e.to === 'critical') clearInterval(leakTimer);
});
app.get('/test/state', { config: { shed: 'exempt' } }, async () => {
  const s = engine.memory.monitor.snapshot();
  return { level: s.level, ratio: s.ratio, sampleAt: s.sample?.at, timeToCriticalMs: s.timeToCriticalMs, leakSuspected: s.leakSuspected, growthMbPerHour: s.growthMbPerHour, engaged: s.engaged.map((e) => e.name), cache: cache.size, oldUsed: s.sample?.oldUsed, oldCommitted: s.sample?.oldCommitted, heapUsed: s.sample?.heapUsed, oldLimit: s.sample?.oldLimit, t: Date.now() };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
out({ port: typeof address === 'object' && address ? address.port : 0 });
process.on('SIGTERM', () => {
  void app.close().then(() => engine.close()).then(() => process.exit(0));
});
