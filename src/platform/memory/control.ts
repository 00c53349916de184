/**
 * The standard set-up: a monitor with the five responders in their order, a load shedder for the
 * server, and registration points for the parts that can give memory back. The engine builds one
 * from the `memory` config section; other parts register with it:
 *
 *   const control = createMemoryControl({ intervalMs: 1000 });
 *   control.caches.add({ shrink: (f) => cache.shrinkL1(f), restore: () => cache.restoreL1() });
 *   control.concurrency.add(limitShrinker(expertsLimit));
 *   control.breakers.add(breakerIsolator(optionalBreaker));
 *   control.monitor.start();
 *
 * Engage order (rising pressure): caches → gc → concurrency → breakers → shed.
 * Undo order (falling pressure): shed → breakers → concurrency → caches.
 */
import { IdleTrimmer, type GcFunction, type IdleTrimOptions } from './idle-trim.js';
import { MemoryMonitor, type MemoryMonitorOptions } from './monitor.js';
import { GcResponder, IsolateResponder, ShedResponder, ShrinkResponder, collectGarbage, type Responder } from './responders.js';
import { LoadShedder } from './shedder.js';
import { LEVEL_RANK, type Isolatable, type MemoryEvent, type PressureLevel, type Shrinkable } from './types.js';

export interface ResponderOptions {
  enabled?: boolean;
  /** Lowest level at which it acts. */
  level?: PressureLevel;
  cooldownMs?: number;
}

export interface MemoryControlOptions extends Omit<MemoryMonitorOptions, 'responders' | 'idleTrim'> {
  caches?: ResponderOptions & { fractions?: Partial<Record<PressureLevel, number>> };
  gc?: ResponderOptions & {
    /** The collector to call; `globalThis.gc` (node --expose-gc) by default. Without one, no GC responder. */
    fn?: () => void;
  };
  concurrency?: ResponderOptions & { fractions?: Partial<Record<PressureLevel, number>> };
  breakers?: ResponderOptions;
  shed?: ResponderOptions & { allFrom?: PressureLevel; retryAfterSeconds?: number };
  /** Give the young generation back once idle (needs the exposed collector); on by default. */
  idleTrim?: IdleTrimOptions & { on?: boolean };
}

export interface MemoryControl {
  monitor: MemoryMonitor;
  shedder: LoadShedder;
  /** L1 caches: shrunk to a fraction of their capacity under pressure. */
  caches: ShrinkResponder;
  /** Adaptive concurrency limits: their ceiling lowered to a fraction of the limit in force. */
  concurrency: ShrinkResponder;
  /** Breakers guarding optional work: isolated under pressure. */
  breakers: IsolateResponder;
  /** Null when no collector is exposed (or disabled). */
  gc: GcResponder | null;
  /**
   * One full, compacting collection now, when a collector is exposed (node --expose-gc); the heap
   * bytes it freed, or null without one. The server calls it once after start-up: the garbage of
   * loading and compiling is otherwise kept in committed pages (RSS) until V8 next collects.
   */
  collectNow(): number | null;
  close(): Promise<void>;
}

export function createMemoryControl(opts: MemoryControlOptions = {}): MemoryControl {
  const shedder = new LoadShedder({ retryAfterSeconds: opts.shed?.retryAfterSeconds ?? 5 });
  const caches = new ShrinkResponder('cache.shrink', opts.caches?.level ?? 'moderate', opts.caches?.fractions ?? { moderate: 0.5, high: 0.25, critical: 0.1 }, opts.caches?.cooldownMs ?? 30_000);
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  const gcFn = opts.gc?.fn ?? exposed;
  const gc = gcFn && opts.gc?.enabled !== false ? new GcResponder(gcFn, opts.gc?.level ?? 'high', opts.gc?.cooldownMs ?? 10_000) : null;
  const concurrency = new ShrinkResponder('concurrency.limit', opts.concurrency?.level ?? 'high', opts.concurrency?.fractions ?? { high: 0.5, critical: 0.25 }, opts.concurrency?.cooldownMs ?? 15_000);
  const breakers = new IsolateResponder(opts.breakers?.level ?? 'high', opts.breakers?.cooldownMs ?? 30_000);
  const shed = new ShedResponder(shedder, opts.shed?.level ?? 'high', opts.shed?.cooldownMs ?? 5_000, opts.shed?.allFrom ?? 'critical');
  const responders: Responder[] = [];
  if (opts.caches?.enabled !== false) responders.push(caches);
  if (gc) responders.push(gc);
  if (opts.concurrency?.enabled !== false) responders.push(concurrency);
  if (opts.breakers?.enabled !== false) responders.push(breakers);
  if (opts.shed?.enabled !== false) responders.push(shed);
  const { caches: _c, gc: _g, concurrency: _k, breakers: _b, shed: _s, idleTrim: trimOpts, ...monitorOpts } = opts;
  const idleTrim = exposed && trimOpts?.on !== false ? new IdleTrimmer(exposed, trimOpts) : undefined;
  const monitor = new MemoryMonitor({ ...monitorOpts, responders, ...(idleTrim ? { idleTrim } : {}) });
  const collectNow = (): number | null => (gcFn ? collectGarbage(gcFn) : null);
  return { monitor, shedder, caches, concurrency, breakers, gc, collectNow, close: () => monitor.close() };
}

/**
 * Adapts an adaptive concurrency limit (src/platform/resilience AdaptiveLimit) to Shrinkable: the
 * ceiling becomes a fraction of the limit in force when pressure began; restore lifts the ceiling.
 */
export function limitShrinker(limit: { setCeiling(ceiling: number | undefined): void; stats(): { limit: number } }): Shrinkable {
  let base: number | null = null;
  return {
    shrink(fraction: number): void {
      base ??= limit.stats().limit;
      limit.setCeiling(Math.max(1, Math.floor(base * fraction)));
    },
    restore(): void {
      base = null;
      limit.setCeiling(undefined);
    },
  };
}

/** Adapts a circuit breaker with isolate()/reset() (src/platform/resilience CircuitBreaker) to Isolatable. */
export function breakerIsolator(breaker: { isolate(): void; reset(): void }): Isolatable {
  return { isolate: () => breaker.isolate(), release: () => breaker.reset() };
}

/** How to log a monitor event: severity, message and plain fields (the engine hands them to its logger). */
export function describeEvent(e: MemoryEvent): { severity: 'debug' | 'info' | 'warn'; message: string; fields: Record<string, unknown> } {
  switch (e.type) {
    case 'level': {
      const rising = LEVEL_RANK[e.to] > LEVEL_RANK[e.from];
      return { severity: rising ? 'warn' : 'info', message: `memory pressure ${e.from} → ${e.to}`, fields: { from: e.from, to: e.to, ratio: round(e.ratio), dimension: e.dimension } };
    }
    case 'action':
      return { severity: 'info', message: `memory responder ${e.responder}: ${e.action}`, fields: { responder: e.responder, action: e.action, level: e.level, detail: e.detail } };
    case 'alert':
      return e.name === 'memory.leak'
        ? { severity: e.state === 'firing' ? 'warn' : 'info', message: `alert ${e.name} ${e.state}`, fields: { alert: e.name, state: e.state, growthMbPerHour: round(e.growthMbPerHour) } }
        : { severity: e.state === 'firing' ? 'warn' : 'info', message: `alert ${e.name} ${e.state}`, fields: { alert: e.name, state: e.state, timeToCriticalS: e.timeToCriticalMs === null ? null : Math.round(e.timeToCriticalMs / 1000) } };
    case 'error':
      return { severity: 'warn', message: `memory monitor: ${e.source} failed`, fields: { source: e.source, err: e.message } };
    case 'trim':
      return { severity: 'debug', message: 'idle: young generation trimmed', fields: { beforeMb: round(e.beforeBytes / 1048576), afterMb: round(e.afterBytes / 1048576) } };
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
