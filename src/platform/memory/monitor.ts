/**
 * The memory monitor: sample → ratios → level (with hysteresis) → responders, plus the trend
 * predictor and the leak detector, on a self-rescheduling timer that cannot pile up (the next tick
 * is scheduled only when the previous one, responders included, has finished) and never keeps the
 * process alive.
 *
 *   const shedder = new LoadShedder();
 *   const caches = new ShrinkResponder('cache.shrink', 'moderate', { moderate: 0.5, high: 0.25, critical: 0.1 }, 30_000);
 *   const monitor = new MemoryMonitor({ responders: [caches, new ShedResponder(shedder, 'high', 5_000)] });
 *   monitor.on((e) => e.type === 'level' && log.warn(e, 'memory pressure'));
 *   monitor.start();
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { MemoryError } from './errors.js';
import type { IdleTrimmer } from './idle-trim.js';
import { LeakDetector, type LeakOptions } from './leak.js';
import { DEFAULT_THRESHOLDS, PressureTracker, computeRatios, type Thresholds } from './pressure.js';
import { TrendPredictor, type PredictorOptions } from './predictor.js';
import { ResponderSet, type Responder } from './responders.js';
import { MemorySampler, type SamplerOptions } from './sampler.js';
import type { ActionRecord, Dimension, MemoryEvent, MemorySample, MemorySnapshot, PressureLevel } from './types.js';

export interface MemoryMonitorOptions {
  /** Time between samples, ms (default 1000). */
  intervalMs?: number;
  thresholds?: Partial<Thresholds>;
  /** How far below a threshold the ratio must fall before the level steps down (default 0.05). */
  hysteresis?: number;
  /** Samples in a row below (threshold − hysteresis) before stepping down (default 3). */
  stepDownSamples?: number;
  /** Which ratios count toward the level (default heap, cgroup, constrained, cap, system). */
  dimensions?: readonly Dimension[];
  /** A cap on RSS, bytes; 0 = none (default). */
  capBytes?: number;
  predictor?: Partial<PredictorOptions> & {
    /** Raise the critical-soon alert when the predicted time is under this, ms (default 5 min). */
    warnBelowMs?: number;
  };
  leak?: Partial<LeakOptions>;
  responders?: readonly Responder[];
  /** A sampler, or options to build one. */
  sampler?: MemorySampler | SamplerOptions;
  /** Read the heap after each GC for leak detection (default true). */
  observeGc?: boolean;
  /** Given each sample: gives the young generation back once the process idles (none by default). */
  idleTrim?: IdleTrimmer;
  /** Epoch-ms clock (tests drive it). */
  now?: () => number;
}

function checkCap(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.capBytes: must be ≥ 0, got ${bytes}`, { key: 'capBytes' });
  return bytes;
}

const DEFAULT_DIMENSIONS: readonly Dimension[] = ['heap', 'cgroup', 'constrained', 'cap', 'system'];

export type MemoryListener = (event: MemoryEvent) => void;

export class MemoryMonitor {
  readonly intervalMs: number;
  readonly sampler: MemorySampler;
  private readonly ownsSampler: boolean;
  private readonly dimensions: readonly Dimension[];
  private capBytes: number;
  private readonly warnBelowMs: number;
  private readonly now: () => number;
  private readonly tracker: PressureTracker;
  private readonly predictor: TrendPredictor;
  private readonly leak: LeakDetector;
  private readonly responders: ResponderSet;
  private readonly listeners = new Set<MemoryListener>();
  private readonly gcObserver: PerformanceObserver | null = null;
  private readonly idleTrim: IdleTrimmer | null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private ticking: Promise<void> | null = null;
  private criticalSoon = false;
  private samples = 0;
  private last: {
    sample: MemorySample;
    ratio: number;
    dimension: Dimension | null;
    ratios: Partial<Record<Dimension, number>>;
    effectiveLimitBytes: number | null;
    timeToCriticalMs: number | null;
  } | null = null;
  private lastAction: ActionRecord | null = null;

  constructor(opts: MemoryMonitorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 10 || this.intervalMs > 60_000) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.intervalMs: must be an integer in [10, 60000], got ${this.intervalMs}`, { key: 'intervalMs' });
    }
    this.tracker = new PressureTracker({ ...DEFAULT_THRESHOLDS, ...opts.thresholds }, opts.hysteresis ?? 0.05, opts.stepDownSamples ?? 3);
    this.dimensions = opts.dimensions ?? DEFAULT_DIMENSIONS;
    for (const d of this.dimensions) {
      if (!['heap', 'cgroup', 'constrained', 'cap', 'system', 'swap'].includes(d)) {
        throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.dimensions: unknown dimension "${String(d)}"`, { key: 'dimensions' });
      }
    }
    this.capBytes = checkCap(opts.capBytes ?? 0);
    this.warnBelowMs = opts.predictor?.warnBelowMs ?? 300_000;
    this.predictor = new TrendPredictor({ windowMs: opts.predictor?.windowMs ?? 60_000, minSamples: opts.predictor?.minSamples ?? 10 });
    this.leak = new LeakDetector({ windowMs: 300_000, windows: 3, minGrowthMbPerHour: 10, ...opts.leak });
    this.now = opts.now ?? Date.now;
    this.idleTrim = opts.idleTrim ?? null;
    this.responders = new ResponderSet(
      opts.responders ?? [],
      (record) => {
        this.lastAction = record;
        this.emit({ type: 'action', ...record });
      },
      (source, err) => this.emit({ type: 'error', source: `responder:${source}`, message: err.message, at: this.now() }),
    );
    if (opts.sampler instanceof MemorySampler) {
      this.sampler = opts.sampler;
      this.ownsSampler = false;
    } else {
      const given = opts.sampler;
      this.sampler = new MemorySampler({
        now: this.now,
        ...given,
        onError: (source, err) => {
          given?.onError?.(source, err);
          this.emit({ type: 'error', source, message: err.message, at: this.now() });
        },
      });
      this.ownsSampler = true;
    }
    if (opts.observeGc ?? true) {
      // After each GC the heap holds what the program really keeps: the leak detector's best reading.
      this.gcObserver = new PerformanceObserver(() => {
        if (!this.closed) this.observeLeak(this.now(), v8.getHeapStatistics().used_heap_size);
      });
    }
  }

  /** Subscribes to level changes, actions, alerts and source errors; returns an unsubscribe. */
  on(listener: MemoryListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get level(): PressureLevel {
    return this.tracker.level;
  }

  get thresholds(): Readonly<Thresholds> {
    return this.tracker.thresholds;
  }

  /** Run-time changes (live config keys). Validated first: a bad change throws and leaves the old values. */
  configure(change: { thresholds?: Partial<Thresholds>; hysteresis?: number; capBytes?: number }): void {
    const cap = change.capBytes === undefined ? this.capBytes : checkCap(change.capBytes);
    this.tracker.configure({ ...this.tracker.thresholds, ...change.thresholds }, change.hysteresis ?? this.tracker.hysteresis);
    this.capBytes = cap;
  }

  /** Starts sampling every `intervalMs`. Idempotent. */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.gcObserver?.observe({ entryTypes: ['gc'] });
    this.schedule();
  }

  /** Takes one sample and acts on it now (the timer calls this; so can tests and the CLI). */
  async tick(): Promise<MemorySnapshot> {
    // Never two at once: a tick asked for while one runs waits for it and then runs.
    while (this.ticking) await this.ticking;
    const run = this.evaluate(this.sampler.sample());
    this.ticking = run;
    try {
      await run;
    } finally {
      this.ticking = null;
    }
    return this.snapshot();
  }

  /** Stops the timer, undoes every engaged responder (newest first) and frees the samplers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.gcObserver?.disconnect();
    while (this.ticking) await this.ticking;
    await this.responders.releaseAll(this.now());
    if (this.ownsSampler) this.sampler.close();
  }

  snapshot(): MemorySnapshot {
    const last = this.last;
    return {
      running: this.running,
      level: this.tracker.level,
      ratio: last?.ratio ?? 0,
      dimension: last?.dimension ?? null,
      ratios: last ? { ...last.ratios } : {},
      effectiveLimitBytes: last?.effectiveLimitBytes ?? null,
      timeToCriticalMs: last?.timeToCriticalMs ?? null,
      growthMbPerHour: this.leak.growthMbPerHour(),
      leakSuspected: this.leak.leakSuspected,
      lastAction: this.lastAction,
      engaged: this.responders.list(),
      sample: last?.sample ?? null,
      samples: this.samples,
    };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick()
        .catch((err: unknown) => this.emit({ type: 'error', source: 'tick', message: err instanceof Error ? err.message : String(err), at: this.now() }))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async evaluate(sample: MemorySample): Promise<void> {
    this.samples++;
    const r = computeRatios(sample, { dimensions: this.dimensions, capBytes: this.capBytes });
    const from = this.tracker.level;
    const level = this.tracker.update(r.ratio);
    this.predictor.add(sample.at, r.ratios);
    const prediction = this.predictor.predict(sample.at, this.tracker.thresholds.critical);
    this.last = { sample, ratio: r.ratio, dimension: r.dimension, ratios: r.ratios, effectiveLimitBytes: r.effectiveLimitBytes, timeToCriticalMs: prediction.timeToCriticalMs };
    this.observeLeak(sample.at, sample.heapUsed);
    const trim = this.idleTrim?.observe(sample);
    if (trim) this.emit({ type: 'trim', ...trim, at: sample.at });
    if (level !== from) this.emit({ type: 'level', from, to: level, ratio: r.ratio, dimension: r.dimension, at: sample.at });
    const ttc = prediction.timeToCriticalMs;
    const soon = ttc !== null && ttc < this.warnBelowMs;
    // Resolve only with a margin, so a prediction hovering at the bound does not flap.
    const clear = ttc === null || ttc > this.warnBelowMs * 1.2;
    if (soon && !this.criticalSoon) {
      this.criticalSoon = true;
      this.emit({ type: 'alert', name: 'memory.critical-soon', state: 'firing', timeToCriticalMs: ttc, at: sample.at });
    } else if (clear && this.criticalSoon) {
      this.criticalSoon = false;
      this.emit({ type: 'alert', name: 'memory.critical-soon', state: 'resolved', timeToCriticalMs: ttc, at: sample.at });
    }
    await this.responders.update(level, sample, sample.at);
  }

  private observeLeak(at: number, heapBytes: number): void {
    const change = this.leak.observe(at, heapBytes);
    if (change) this.emit({ type: 'alert', name: 'memory.leak', state: change, growthMbPerHour: this.leak.growthMbPerHour() ?? 0, at });
  }

  private emit(event: MemoryEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (_) {
        // A failing listener must not stop the monitor or the other listeners.
      }
    }
  }
}
