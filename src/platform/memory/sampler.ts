/**
 * Takes one MemorySample: V8 heap figures, process.memoryUsage(), the cgroup (v2, v1 fallback),
 * process.constrainedMemory(), /proc/meminfo and the event loop's delay and utilisation since the
 * previous sample. Synchronous and cheap (a few small file reads): the monitor calls it once per tick.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';
import { isCodeError } from '../errors.js';
import { DEFAULT_PATHS, locateCgroup, oldGenerationLimit, readCgroup, readSystem, type CgroupLocation, type SourcePaths } from './sources.js';
import type { CgroupReading, EventLoopReading, MemorySample, SystemReading } from './types.js';

export interface SamplerOptions {
  /** Override kernel file paths (tests point them at synthetic files). */
  paths?: Partial<SourcePaths>;
  /** Clock for `sample.at`; epoch milliseconds. */
  now?: () => number;
  /** Overrides the derived V8 old-generation limit (bytes). */
  heapLimitBytes?: number;
  /** Resolution of the event-loop delay histogram, ms (default 10). */
  eventLoopResolutionMs?: number;
  /** `process.constrainedMemory` by default; tests may pass their own reading. */
  constrainedMemory?: () => number | undefined;
  /** Called when a source fails to read or parse; once per distinct failure, not every tick. */
  onError?: (source: string, err: Error) => void;
}

/** Values this large mean "no constraint" (libuv reports UINT64_MAX or similar). */
const UNCONSTRAINED = 2 ** 60;

export class MemorySampler {
  readonly paths: SourcePaths;
  /** Where the cgroup files are; null when none is mounted. */
  readonly cgroup: CgroupLocation | null;
  readonly oldLimit: number;
  private readonly now: () => number;
  private readonly constrainedMemory: () => number | undefined;
  private readonly onError: ((source: string, err: Error) => void) | undefined;
  private readonly delay: IntervalHistogram;
  private elu: EventLoopUtilization;
  private readonly lastErrors = new Map<string, string>();
  private closed = false;

  constructor(opts: SamplerOptions = {}) {
    this.paths = { ...DEFAULT_PATHS, ...opts.paths };
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError;
    this.constrainedMemory = opts.constrainedMemory ?? (() => (typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : undefined));
    let loc: CgroupLocation | null = null;
    try {
      loc = locateCgroup(this.paths);
    } catch (err) {
      this.report('cgroup', err);
    }
    this.cgroup = loc;
    const heapSizeLimit = v8.getHeapStatistics().heap_size_limit;
    this.oldLimit = opts.heapLimitBytes ?? oldGenerationLimit(heapSizeLimit, process.execArgv, process.env.NODE_OPTIONS);
    this.delay = monitorEventLoopDelay({ resolution: opts.eventLoopResolutionMs ?? 10 });
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
  }

  sample(): MemorySample {
    const mem = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    let oldUsed = 0;
    let oldCommitted = 0;
    let youngCommitted = 0;
    for (const space of v8.getHeapSpaceStatistics()) {
      if (space.space_name.startsWith('new_')) {
        youngCommitted += space.space_size;
        continue;
      }
      oldUsed += space.space_used_size;
      oldCommitted += space.space_size;
    }
    return {
      at: this.now(),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      heapSizeLimit: heap.heap_size_limit,
      oldUsed,
      oldCommitted,
      oldLimit: this.oldLimit,
      youngCommitted,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      cgroup: this.readCgroup(),
      constrained: this.readConstrained(),
      system: this.readSystem(),
      eventLoop: this.readEventLoop(),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.delay.disable();
  }

  private readCgroup(): CgroupReading | null {
    if (!this.cgroup) return null;
    try {
      const reading = readCgroup(this.cgroup);
      this.lastErrors.delete('cgroup');
      return reading;
    } catch (err) {
      this.report('cgroup', err);
      return null;
    }
  }

  private readSystem(): SystemReading | null {
    try {
      const reading = readSystem(this.paths.meminfo);
      this.lastErrors.delete('meminfo');
      return reading;
    } catch (err) {
      this.report('meminfo', err);
      return null;
    }
  }

  private readConstrained(): number | null {
    const value = this.constrainedMemory();
    return typeof value === 'number' && value > 0 && value < UNCONSTRAINED ? value : null;
  }

  private readEventLoop(): EventLoopReading {
    const h = this.delay;
    const out: EventLoopReading =
      h.count > 0
        ? { delayP50Ms: h.percentile(50) / 1e6, delayP99Ms: h.percentile(99) / 1e6, delayMaxMs: h.max / 1e6, utilization: 0 }
        : { delayP50Ms: 0, delayP99Ms: 0, delayMaxMs: 0, utilization: 0 };
    // After reset() Node drops the first timer interval (it keeps no previous timestamp), so a stall
    // in the ~resolution ms right after a sample goes unseen; under-pressure has the same blind spot.
    h.reset();
    const now = performance.eventLoopUtilization();
    out.utilization = performance.eventLoopUtilization(now, this.elu).utilization;
    this.elu = now;
    return out;
  }

  private report(source: string, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const key = isCodeError(e) ? `${e.code}:${e.message}` : e.message;
    if (this.lastErrors.get(source) === key) return;
    this.lastErrors.set(source, key);
    this.onError?.(source, e);
  }
}
